"""Downstream and intrinsic tasks on a frozen biLM; each writes rows of the long results CSV.

Every task is one module or package with the same entry, ``run(cfg) -> rows``, named by its config
(conf/task/<name>.yaml: ``entry: melmo.tasks.<module>.run``):
pos.py          task=pos (UPOS tagging, ScalarMix + MLP head)
pos_transfer.py task=pos_transfer (zero-shot, a head trained on English only)
parsing/        task=parsing (biaffine parser, tree decoding, CoNLL 2018 scores)
xnli/           task=xnli (ESIM, zero-shot from MultiNLI)
tatoeba.py      task=tatoeba (retrieval, no training)
perplexity.py   task=perplexity (held-out LM perplexity)
baseline.py     task=baseline (the encoder-free floors: majority, chance)
common/         what the tasks share: head, features, context, treebank, ud
run.py          the body of evaluate.py: calls the task's entry
(file formats -- CoNLL-U, NLI, Tatoeba -- are melmo.formats; the results CSV, the encoders table and the
per-item predictions are melmo.results, shared with the analysis)
"""
