"""XNLI: the ESIM head over frozen features and the task (the NLI readers are melmo.formats.nli)."""
