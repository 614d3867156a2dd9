"""``python -m melmo.study``: the whole study as one command (melmo.study.run)."""

from melmo.study.run import main

main()
