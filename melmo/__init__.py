"""mELMo: multilingual ELMo with corpus sampling."""
__version__ = "0.1.0"

from melmo.utils import labels as _labels  # the config resolvers (conf/ uses ${melmo.*:...})

_labels.register()
