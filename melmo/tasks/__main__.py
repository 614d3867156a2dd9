"""``python -m melmo.tasks`` [Hydra overrides]: the evaluation app (melmo.tasks.app), as evaluate.py."""

from melmo.tasks.app import main

main()
