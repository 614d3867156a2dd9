"""Evaluate a frozen biLM.  python evaluate.py task=pos encoder.path=<run dir>/model  (see conf/evaluate.yaml)

The app is melmo.tasks.app (installed as ``melmo-evaluate``); this file only runs it from a checkout.
An error ends in one line naming the file or key and exit status 1; HYDRA_FULL_ERROR=1 shows the
traceback (melmo/utils/errors.py)."""

from melmo.tasks.app import main

if __name__ == "__main__":
    main()
