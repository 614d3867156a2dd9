"""XNLI: NLI readers (XTREME, XNLI 1.0, MultiNLI) and the ESIM head over frozen features."""
