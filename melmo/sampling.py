"""Public alias of :mod:`melmo.corpus.sampling` (the sampling strategies live with the corpus they shape).

``melmo.sampling.target_sizes`` and the strategy classes stay importable here for scripts and notebooks.
"""

from melmo.corpus.sampling import *  # noqa: F401,F403
from melmo.corpus.sampling import __all__  # noqa: F401
