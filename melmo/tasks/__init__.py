"""Downstream and intrinsic tasks on a frozen biLM; each writes rows of the long results CSV.

conllu.py       strict CoNLL-U reader and writer (ids, UPOS, HEAD, DEPREL kept for the parser)
ud.py           treebank files, the train/select/report protocol, units (surface tokens vs words)
treebank.py     Treebank: one language's splits, units and activations (pos, pos_transfer, parsing)
features.py     datasets and collate over cached activations (batch["layers"] (B, T, L, D), mask, target)
head.py         HeadModule: ScalarMix + any head nn.Module, trained by Lightning; fit_head, predict
context.py      EvalContext: model, name, policy, cache, seeds, skip-if-done, results files
pos.py          task=pos and task=pos_transfer
tatoeba.py      task=tatoeba (retrieval, no training)
perplexity.py   task=perplexity (held-out LM perplexity)
run.py          the body of evaluate.py: picks the task's runner
(the results CSV, the encoders table and the per-item predictions are melmo.results, shared with the analysis)
"""
