"""LM training: the run (run.py), the LightningModule (module.py), the held-out metric, the budget,
checkpoints, continued pre-training (init_from.py) and the export to the bilm-tf / NLPL layout."""
