"""Per-item predictions of one evaluation, for significance tests: the format of melmo.analysis.predictions.

``<results_dir>/predictions/<task>/<encoder>/<language>.seed<seed>.tsv``: UTF-8, header
``item<TAB>gold<TAB>prediction``, one row per test item.
"""

from melmo.analysis.predictions import predictions_path, write_predictions

__all__ = ["predictions_path", "write_predictions"]
