"""Train a multilingual ELMo biLM.  python train.py [hydra overrides]  (see conf/train.yaml)

The app is melmo.pretrain.app (installed as ``melmo-train``); this file only runs it from a checkout.
An error ends in one line naming the file or key and exit status 1; HYDRA_FULL_ERROR=1 shows the
traceback (melmo/utils/errors.py)."""

from melmo.pretrain.app import main

if __name__ == "__main__":
    main()
