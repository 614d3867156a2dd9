"""``python -m melmo.corpus.udpipe ...``: runs the command line of :mod:`melmo.corpus.udpipe.cli`."""

from melmo.corpus.udpipe.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
