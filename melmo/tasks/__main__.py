"""``python -m melmo.tasks`` [Hydra overrides]: the evaluation app (melmo.tasks.app), as ``python evaluate.py``."""

from melmo.tasks.app import main

main()
