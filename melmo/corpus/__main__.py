"""``python -m melmo.corpus ...``: runs the corpus-preparation command line of :mod:`melmo.corpus.cli`."""

from melmo.corpus.cli import main

raise SystemExit(main())
