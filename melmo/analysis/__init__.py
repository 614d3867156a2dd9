"""Analysis of evaluation results: the paper's tables, figures and statistics from a long results CSV.

Stable interface: :func:`summary_table` (the paper's Table 1), :func:`language_table` (Table 4),
:func:`size_correlation`, :func:`paired_bootstrap`, :func:`make_report`; submodules hold the rest.
"""

from melmo.analysis.correlation import load_sizes, size_correlation
from melmo.analysis.paper import PAPER_ENCODERS, paper_sizes, paper_table4, paper_table4_path
from melmo.analysis.report import Report, make_report
from melmo.analysis.significance import compare_predictions, paired_bootstrap, paired_seed_test
from melmo.analysis.tables import language_table, summary_table
from melmo.results.table import COLUMNS, ResultsError, load_results

__all__ = [
    "COLUMNS", "PAPER_ENCODERS", "Report", "ResultsError", "compare_predictions", "language_table",
    "load_results", "load_sizes", "make_report", "paired_bootstrap", "paired_seed_test", "paper_sizes",
    "paper_table4", "paper_table4_path", "size_correlation", "summary_table",
]
