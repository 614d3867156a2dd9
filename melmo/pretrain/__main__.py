"""``python -m melmo.pretrain`` [Hydra overrides]: the training app (melmo.pretrain.app), as train.py."""

from melmo.pretrain.app import main

main()
