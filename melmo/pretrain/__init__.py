"""LM training: the run (run.py), the LightningModule (module.py), the held-out metric, the budget,
checkpoints, continued pre-training (init_from.py) and the export to the bilm-tf / NLPL layout."""

from melmo.formats.export_meta import META_NAME  # noqa: F401  (its old home; the name lives in melmo.formats)
