"""CLI: ``python -m melmo.analysis RESULTS.csv --sizes SIZES --out DIR`` writes the paper's tables, figures.

Also significance.md/.csv and power.md/.csv: every encoder against --base by the marked test (a
t-test over head seeds, unpaired, with the test items' variance when the results file's folder or
--predictions holds per-item predictions; Holm- and BH-adjusted over languages; Table 4 and the
figures mark Holm's verdict, docs/statistics.md), paired bootstraps per seed as detail, and the
differences the marked test can detect with the seeds used. The metrics that
are not the paper's go to table1_helpers/table4_helpers. ``--cells paper`` averages the paper's
cells and adds table1_paper and table1_minus_paper.

``--paper`` analyses the bundled Table 4 of the paper (with its Table 3 M0.4 sizes unless --sizes is
given). ``--wandb-dir DIR`` also logs the tables and figures to a W&B run (offline without a network or
key, melmo.utils.loggers), beside the LM runs and evaluations of the same project.
Bad input: one line on stderr naming the file and row, exit status 1, nothing written
(melmo.utils.errors).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from melmo.analysis.paper import paper_sizes, paper_table4_path
from melmo.analysis.report import log_to_wandb, make_report
from melmo.languages import check_language
from melmo.utils.errors import ArgumentParser
from melmo.utils.errors import report as report_error
from melmo.utils.loggers import start_wandb_run


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m melmo.analysis", description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="?", help="long results CSV: encoder,task,metric,language,seed,value")
    p.add_argument("--paper", action="store_true", help="analyse the paper's own Table 4 (bundled)")
    p.add_argument("--sizes", help="corpus sizes: a prepared corpus's metadata.json or a CSV language,tokens")
    p.add_argument("--out", required=True,
                   help="output folder (tables .md/.csv/.tex, correlations, figure1-3.png)")
    p.add_argument("--mono", default="MONO", help="encoder name of the monolingual models (default: MONO)")
    p.add_argument("--base", default="M0.4", help="encoder the others are compared with (default: M0.4)")
    p.add_argument("--compare", nargs="+", default=["M0.2", "TRUNC"],
                   help="encoders compared with --base (default: M0.2 TRUNC)")
    p.add_argument("--method", choices=("spearman", "pearson"), default="spearman",
                   help="size correlation (default: spearman)")
    p.add_argument("--predictions",
                   help="folder holding predictions/<task>/<encoder>/<lang>.seed<n>.tsv for paired "
                   "bootstraps (default: the results file's folder)")
    p.add_argument("--languages", nargs="+",
                   help="languages expected (others left out; absent ones reported)")
    p.add_argument("--cells", choices=("ours", "paper"), default="ours",
                   help="which cells Tables 1 and 4 average: every language of the results (ours, default) "
                   "or the paper's (no sv PoS, no ru parsing, no en/hi Tatoeba, PoS transfer with en), which "
                   "also writes the paper's Table 1 and ours minus the paper's")
    p.add_argument("--resamples", type=int, default=2000,
                   help="resamples of the per-seed bootstraps (detail rows; default: 2000). The "
                   "marked test is analytic")
    p.add_argument("--wandb-dir", help="also log the tables and figures to a W&B run saved under this folder")
    p.add_argument("--wandb-project", default="melmo",
                   help="W&B project (default: melmo, as conf/logger/wandb.yaml)")
    p.add_argument("--wandb-group", default="analysis", help="W&B group of the run (default: analysis)")
    p.add_argument("--wandb-tags", nargs="*", default=[], help="W&B tags of the run")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    if (args.results is None) == (not args.paper):
        parser().error("give a results CSV or --paper (not both)")
    results = str(paper_table4_path()) if args.paper else args.results
    sizes = args.sizes if args.sizes else (paper_sizes("M0.4") if args.paper else None)
    try:
        predictions = args.predictions or (None if args.paper else str(Path(args.results).parent))
        report = make_report(results, sizes, mono=args.mono, base=args.base, compare=args.compare,
                             method=args.method, predictions_dir=predictions, n_resamples=args.resamples,
                             cells=args.cells,
                             languages=([check_language(lang) for lang in args.languages]
                                        if args.languages else None))
        written = report.write(args.out)
    except Exception as e:  # one line, exit status 1 (melmo.utils.errors)
        return report_error(e)
    for path in written:
        print(path)
    if args.wandb_dir:
        run = start_wandb_run(args.wandb_dir, args.wandb_project, group=args.wandb_group,
                              name=f"{args.wandb_group}-analysis", tags=[*args.wandb_tags, "analysis"],
                              job_type="analysis", config={"results": results, "base": args.base,
                                                           "compare": args.compare, "mono": args.mono})
        try:
            log_to_wandb(report, written, run)
        finally:
            run.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
