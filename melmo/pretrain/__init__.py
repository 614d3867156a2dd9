"""LM training: the run (run.py), the LightningModule (module.py), the held-out metric, the budget,
checkpoints, continued pre-training (init_from.py) and the export to the bilm-tf / NLPL layout."""

# The model directory's provenance file (corpus, run, tokenizers, which weights), written last by the export:
# a directory that has it is complete. Here, not in export.py, so the study can name it without importing torch.
META_NAME = "melmo.json"
