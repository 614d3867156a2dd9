"""Helpers shared across melmo: atomic writes, distributed gathering, RNG state, loggers, Hydra glue."""
