"""Is the marked significance test calibrated with 3 head seeds? Rejection on true nulls, power on an effect.

    python benchmarks/significance_calibration.py [--results docs/results/sample/results.csv]
        [--predictions DIR] [--reps 300] [--old-reps 20] [--resamples 500] [--max-items 10000] [--seed 0]

Prints, at level 0.05 (two-sided), for the marked test (:func:`melmo.analysis.seedtest.cell_test` /
``t_test``) and, beside it, the per-cell hierarchical bootstrap that was marked before
(:func:`melmo.analysis.hierarchical.hierarchical_bootstrap`):

(a) **real leave-one-seed-out nulls**: for every encoder (not the floors), paper task/metric and
    language with 3 seeds, two seeds against the third (3 splits a cell): no real difference. With
    ``--predictions`` (a folder holding ``predictions/<task>/<encoder>/<lang>.seed<n>.tsv``) the tests
    run on the per-item predictions. Without (the committed studies ship no predictions), the marked
    test runs on the per-seed rows of the results (``t_seeds``), and both tests also run on items
    rebuilt from each seed's score: round(score x n) correct items of n (n from the committed
    analysis/significance.csv's items per cell, at most ``--max-items``), either chosen independently
    per seed (the most item noise) or nested along one shared item order (heads agree on every item
    they can: the least). The real cells have between the two.
(b) **simulated 3-vs-3 nulls** per task/metric: both encoders have the same true score (the task's
    mean), each head's score is drawn with the task's seed spread as observed (pooled sd over
    encoders and languages, as in melmo.analysis.power), items rebuilt as in (a), ``--reps`` draws.
(c) **power** on a clear effect: the same with a true difference equal to the marked test's
    80 %-power minimal difference (:func:`melmo.analysis.power.minimal_difference`): expect ~0.80.

Monte-Carlo standard error of a rate r over R draws: sqrt(r (1 - r) / R), printed beside each. The
old bootstrap is slow (``--old-reps`` draws, ``--resamples`` resamples each); its rates are a
comparison, not a tuned estimate.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from melmo.analysis.hierarchical import hierarchical_bootstrap, seed_files, seed_scores
from melmo.analysis.power import minimal_difference
from melmo.analysis.seedtest import cell_test, t_test
from melmo.analysis.tables import PAPER_COLUMNS, label
from melmo.results.predictions import clusters as item_clusters
from melmo.results.table import load_results

ROOT = Path(__file__).resolve().parents[1]
LEVEL = 0.05
FLOORS = ("majority", "chance")  # deterministic baselines of the studies (melmo.study), not heads
MODES = ("independent", "nested")


def items_from_scores(scores, n: int, mode: str, rng) -> np.ndarray:
    """(seeds, n) correct items whose row means are round(score x n) / n (module docstring, (a))."""
    counts = np.clip(np.round(np.asarray(scores) * n).astype(int), 0, n)
    out = np.zeros((len(counts), n), dtype=bool)
    order = rng.permutation(n)
    for s, c in enumerate(counts):
        out[s, (rng.permutation(n) if mode == "independent" else order)[:c]] = True
    return out


def seed_cells(df: pd.DataFrame):
    """(task, metric, encoder, language, per-seed scores) of every head cell with >= 3 seeds and some
    spread."""
    df = df[~df["encoder"].isin(FLOORS)]
    for (t, m), sub in df.groupby(["task", "metric"], sort=False):
        if (t, m) not in PAPER_COLUMNS:
            continue
        for (e, lang), g in sub.groupby(["encoder", "language"]):
            v = g.sort_values("seed")["value"].to_numpy(dtype=float)
            if len(v) >= 3 and np.ptp(v) > 0:
                yield t, m, e, lang, v


def task_spread(df: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    """(task, metric) -> (mean score, pooled seed sd) over the head cells with >= 2 seeds."""
    out = {}
    heads = df[~df["encoder"].isin(FLOORS)]
    for (t, m), sub in heads.groupby(["task", "metric"], sort=False):
        g = sub.groupby(["encoder", "language"])["value"]
        n, var = g.count(), g.var(ddof=1)
        ok = n >= 2
        if (t, m) in PAPER_COLUMNS and ok.any() and ((n - 1) * var)[ok].sum() > 0:
            out[(t, m)] = (
                float(sub["value"].mean()),
                math.sqrt(float(((n - 1) * var)[ok].sum() / (n - 1)[ok].sum())),
            )
    return out


def item_counts(results: Path, max_items: int) -> dict[tuple[str, str, str], int]:
    """(task, metric, language) -> items per cell from the committed analysis/significance.csv (capped)."""
    path = results.parent / "analysis" / "significance.csv"
    if not path.is_file():
        return {}
    sig = pd.read_csv(path)
    sig = sig[sig["test"].isin(["hierarchical", "bootstrap", "t_seeds_items"])]
    return {(r.task, r.metric, r.language): min(int(r.n), max_items) for r in sig.itertuples()}


class Rate:
    def __init__(self):
        self.hits, self.n = 0, 0

    def add(self, p: float):
        self.n += 1
        self.hits += bool(p < LEVEL)

    def __str__(self):
        if not self.n:
            return "-"
        r = self.hits / self.n
        return f"{r:.3f} ± {math.sqrt(max(r * (1 - r), 1e-12) / self.n):.3f} ({self.hits}/{self.n})"


def real_null(df, args, counts, rng) -> dict[str, Rate]:
    rates = {
        k: Rate()
        for k in (
            "marked, seed rows",
            *[f"{w}, items {mode}" for w in ("marked", "old") for mode in MODES],
            "marked, predictions",
            "old, predictions",
        )
    }
    old_budget = args.old_reps
    for t, m, e, lang, v in seed_cells(df):
        files = seed_files(args.predictions, t, e, lang) if args.predictions else {}
        for h in range(len(v)):
            rest = [i for i in range(len(v)) if i != h]
            rates["marked, seed rows"].add(t_test(v[rest], v[[h]]).p_value)
            if len(files) >= 3:
                x, items, _ = seed_scores(files, m)
                cl = item_clusters(items)
                rates["marked, predictions"].add(cell_test(x[rest], x[[h]], cl).p_value)
                rates["old, predictions"].add(
                    hierarchical_bootstrap(x[rest], x[[h]], cl, args.resamples, args.seed).p_value
                )
                continue
            n = counts.get((t, m, lang), args.max_items)
            for mode in MODES:
                x = items_from_scores(v, n, mode, rng)
                rates[f"marked, items {mode}"].add(cell_test(x[rest], x[[h]]).p_value)
                if old_budget > 0:
                    rates[f"old, items {mode}"].add(
                        hierarchical_bootstrap(x[rest], x[[h]], None, args.resamples, args.seed).p_value
                    )
            old_budget -= 1
    return rates


def simulate(mean, sd, n, delta, args, rng, mode: str) -> tuple[dict[str, Rate], float]:
    """Rejection rates of both tests on ``--reps`` 3-vs-3 draws, and the median item se of the marked test."""
    rates, item_se = {"marked": Rate(), "old": Rate()}, []
    for r in range(args.reps):
        q = np.clip(mean + sd * rng.standard_normal(6) + np.repeat([delta, 0.0], 3), 0, 1)
        x = items_from_scores(q, n, mode, rng)
        t = cell_test(x[:3], x[3:])
        rates["marked"].add(t.p_value)
        item_se.append(t.item_se)
        if r < args.old_reps:
            rates["old"].add(hierarchical_bootstrap(x[:3], x[3:], None, args.resamples, args.seed).p_value)
    return rates, float(np.median(item_se))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default=str(ROOT / "docs" / "results" / "sample" / "results.csv"))
    p.add_argument("--predictions", help="folder holding predictions/<task>/<encoder>/<lang>.seed<n>.tsv")
    p.add_argument("--reps", type=int, default=300, help="simulated draws per task for the marked test")
    p.add_argument(
        "--old-reps", type=int, default=20, help="draws (splits for (a)) for the slow old bootstrap"
    )
    p.add_argument("--resamples", type=int, default=500, help="resamples of the old bootstrap")
    p.add_argument("--max-items", type=int, default=10_000, help="items per rebuilt cell at most")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    results = Path(args.results)
    df = load_results(results)
    rng = np.random.default_rng(args.seed)
    counts = item_counts(results, args.max_items)
    start = time.perf_counter()
    print(f"results: {results}; level {LEVEL}; rate ± Monte-Carlo se (rejections/tests)\n")
    print("(a) real leave-one-seed-out nulls (2 seeds vs the third of one encoder)")
    for k, r in real_null(df, args, counts, rng).items():
        if r.n:
            print(f"  {k:<28} {r}")
    print(
        f"\n(b) simulated 3-vs-3 nulls, (c) power at the marked test's 80 %-power MDE (melmo.analysis.power, "
        f"with the null draws' median item se); {args.reps} draws ({args.old_reps} for the old bootstrap)"
    )
    for (t, m), (mean, sd) in task_spread(df).items():
        n = int(np.median([v for (tt, mm, _), v in counts.items() if (tt, mm) == (t, m)] or [args.max_items]))
        print(f"  {label(t, m)}: mean {mean:.3f}, seed sd {sd:.4f}, {n} items")
        for mode in MODES:
            null, item_se = simulate(mean, sd, n, 0.0, args, rng, mode)
            mde = minimal_difference(sd, 3, item_se)
            alt, _ = simulate(mean, sd, n, mde, args, rng, mode)
            print(f"    items {mode:<11} null: marked {null['marked']}, old {null['old']}")
            print(f"    {'':<17} power at {mde:.4f}: marked {alt['marked']}, old {alt['old']}")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
