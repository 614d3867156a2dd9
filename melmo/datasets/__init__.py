"""The official downloads (UD, XNLI 1.0, MultiNLI 1.0, LASER Tatoeba, CoNLL 2017 raw text) laid out as
the data root the tasks and corpus preparation read: ``python -m melmo.datasets layout`` (links,
never copies) and ``python -m melmo.datasets check`` (verify an existing root)."""
