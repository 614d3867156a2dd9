"""File formats, on the lowest floor: every stage that reads one of these files (corpus, tasks, encode,
datasets, study) imports its reader from here, and nothing here imports a stage.

files.py        open_text (plain, .xz, .gz), compressed_variant, file_sha256
text.py         streaming decoded lines with byte-offset errors (corpus text, the CoNLL-U forms)
conllu.py       the one CoNLL-U reader: strict sentences (tasks) and streamed forms (corpus); the writer
nli.py          XNLI (XTREME layout, XNLI 1.0) and MultiNLI (1.0 jsonl, the sample tsv) pairs
tatoeba.py      LASER's Tatoeba pair files
export_meta.py  META_NAME, the exported model's provenance file (melmo.json)
A file that does not read in its format raises melmo.errors.FormatError (or a subclass) naming it.
"""
