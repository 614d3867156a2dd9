"""The paper's own numbers, bundled as data: its Table 4 (scores) and Table 3 (corpus sizes).

Source: Multilingual ELMo and the Effects of Corpus Sampling (NoDaLiDa 2021), Table 4 (Appendix C,
full scores; each the mean of three runs) and Table 3 (Appendix B, corpus sizes in million tokens),
typed into ``melmo/analysis/data/paper_table4.csv`` and ``paper_table3.csv``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd

from melmo.results.table import load_results

# The paper's encoders (section 3.2): monolingual models, alpha = 0.4 and 0.2 sampling, truncation.
PAPER_ENCODERS = ("MONO", "M0.4", "M0.2", "TRUNC")


def paper_table4_path() -> Path:
    """Path of the bundled Table 4 as a long results CSV (``encoder,task,metric,language,seed,value``)."""
    return Path(str(files("melmo.analysis") / "data" / "paper_table4.csv"))


def paper_table3_path() -> Path:
    """Path of the bundled Table 3 (``encoder,language,million_tokens``)."""
    return Path(str(files("melmo.analysis") / "data" / "paper_table3.csv"))


def paper_table4() -> pd.DataFrame:
    """The paper's Table 4 as a checked long results table (seed 0; missing cells left out)."""
    return load_results(paper_table4_path())


def paper_cells() -> dict[tuple[str, str], tuple[str, ...]]:
    """The cells of the paper's Table 4: (task, metric) -> the languages it reports, sorted.

    Its Table 1 averages exactly these: no Swedish PoS, no Russian parsing, no English or Hindi
    Tatoeba, XNLI in six languages, and PoS transfer over 12 languages including English (M0.4:
    4.33 / 12 = 0.36). Read from the bundled Table 4, the union over its encoders.
    """
    t4 = paper_table4()
    return {(t, m): tuple(sorted(set(g["language"])))
            for (t, m), g in t4.groupby(["task", "metric"], sort=False)}


def paper_sizes(encoder: str = "M0.4") -> dict[str, float]:
    """Language -> tokens of ``encoder``'s training corpus from the paper's Table 3.

    M0.4 and M0.2 rank the languages identically (alpha-sampling is monotone in the original
    size), so rank statistics agree for both; TRUNC's sizes are all equal (91.74M) and carry no
    ranking at all.
    """
    t3 = pd.read_csv(paper_table3_path(), comment="#")
    rows = t3[t3["encoder"] == encoder]
    if rows.empty:
        raise ValueError(f"{paper_table3_path()}: no encoder {encoder!r} (have "
                         f"{', '.join(t3['encoder'].unique())})")
    return {lang: float(m) * 1e6 for lang, m in zip(rows["language"], rows["million_tokens"])}
