"""mELMo: multilingual ELMo with corpus sampling."""
__version__ = "0.1.0"

from melmo.utils import labels as _labels  # the config resolvers (conf/ uses ${melmo.*:...})

_labels.register()

def __getattr__(name):
    # Lazy: ``import melmo`` stays light (no torch) until melmo.embed is used.
    if name == "embed":
        from melmo.encode.embed import embed

        return embed
    raise AttributeError(f"module 'melmo' has no attribute {name!r}")
