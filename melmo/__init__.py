"""mELMo: multilingual ELMo with corpus sampling."""
__version__ = "0.1.0"

from melmo.utils import labels as _labels  # noqa: E402  the config resolvers (conf/ uses ${melmo.*:...})

_labels.register()
