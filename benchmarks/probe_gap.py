"""The probe gap: the project's heads beside independent scikit-learn probes on the same cached features.

    python benchmarks/probe_gap.py --model logs/studies/sample/models/alpha04/model [--langs en,fi,he,zh]
        [--seeds 1,2,3] [--tasks pos,parsing,xnli] [--cache DIR] [--pos-heads quick,sample,paper]
        [--variant NAME:override,override ...]

pos: per language, test accuracy of the PoS head (``evaluate.py task=pos`` itself, through
``melmo.tasks.run.run``: the task's split protocol, the activation cache, the preset of each
``heads=`` choice, mean over ``--seeds``) beside scikit-learn probes trained on the head's training
units and scored on the same report units: ``MLPClassifier`` (one hidden layer of 256, early stopping
on a 10 % share) and ``LogisticRegression`` (lbfgs), both on the concatenated layers, standardized
with ``StandardScaler`` fitted on the training units. "gap" is the best probe minus the default
preset (heads=sample). parsing: the parser's LAS with heads=quick / sample, the same without
normalization (``task.module.normalize=none``) and with a longer budget; xnli: the ESIM head with and
without normalization (XNLI dev accuracy, languages of ``--xnli-langs``). Every head's best epoch
against its limit is printed (``b/m``: how many of the cell's heads ended before their limit).
A ``--variant NAME:o1,o2`` adds a row of the task first named in it (``pos.`` overrides go to task=pos).

The activation cache is shared by every run (``--cache``; nothing is re-encoded once it is warm).
Timings are not reported: this measures accuracies.
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]


def compose_eval(overrides: list[str]):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            return compose("evaluate", overrides=overrides)
    finally:
        GlobalHydra.instance().clear()


def base_overrides(args, out: Path) -> list[str]:
    return [f"encoder.path={args.model}", "encoder.name=probe", f"data.root={args.data}",
            f"encode.cache_dir={args.cache}", f"results={out / 'results.csv'}", f"paths.root_dir={ROOT}",
            f"paths.log_dir={out}", f"seeds=[{','.join(map(str, args.seeds))}]"]


def evaluate(args, task: str, langs: list[str], overrides: list[str], tmp: Path,
             tag: str) -> tuple[dict, list]:
    """Rows {(metric, language): mean over seeds} of one evaluate run, and its heads' (best, max) epochs."""
    from melmo.tasks.run import run

    out = tmp / tag
    cfg = compose_eval([f"task={task}", *base_overrides(args, out), f"language=[{','.join(langs)}]",
                        *overrides])
    run(cfg)
    vals: dict = {}
    with open(out / "results.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            vals.setdefault((r["metric"], r["language"]), []).append(float(r["value"]))
    rec = OmegaConf.to_container(OmegaConf.load(out / "configs" / task / "probe.yaml"))
    fits = [(h["best_epoch"], h["max_epochs"]) for seeds in (rec.get("heads") or {}).values()
            for h in seeds.values()]
    return {k: float(np.mean(v)) for k, v in vals.items()}, fits


def converged(fits) -> str:
    return f"{sum(b < m for b, m in fits)}/{len(fits)}"


def sklearn_probes(args, langs: list[str], tmp: Path) -> dict[str, dict[str, float]]:
    """{probe: {lang: test accuracy}} on the pos task's train / report units (mean over --seeds)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from melmo.tasks.common.context import EvalContext
    from melmo.tasks.common.treebank import Treebank
    from melmo.tasks.common.ud import split_plan

    cfg = compose_eval(["task=pos", *base_overrides(args, tmp / "sk")])
    ctx, tcfg = EvalContext(cfg), cfg.task
    out: dict[str, dict[str, float]] = {"sklearn MLP(256)": {}, "sklearn LogReg": {}}
    for lang in langs:
        tb = Treebank(ctx, cfg.data.root, lang, tcfg)
        plan = split_plan({k: len(v) for k, v in tb.sentences.items()}, tcfg.protocol,
                          int(tcfg.protocol.split_seed))

        def xy(role, plan=plan, tb=tb):
            r = plan[role]
            batches = tb.batches(r.split, r.indices, 32)
            x = batches.store.layers[:-1].numpy()
            return x.reshape(len(x), -1), np.concatenate([tb.units[r.split][i].labels for i in r.indices])

        (xtr, ytr), (xte, yte) = xy("train"), xy("report")
        scaler = StandardScaler().fit(xtr)
        xtr, xte = scaler.transform(xtr), scaler.transform(xte)
        mlp = [MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True, random_state=s, max_iter=200)
               .fit(xtr, ytr).score(xte, yte) for s in args.seeds]
        out["sklearn MLP(256)"][lang] = float(np.mean(mlp))
        out["sklearn LogReg"][lang] = float(LogisticRegression(max_iter=1000).fit(xtr, ytr).score(xte, yte))
        print(f"  sklearn {lang}: MLP {out['sklearn MLP(256)'][lang]:.4f} "
              f"LogReg {out['sklearn LogReg'][lang]:.4f}", flush=True)
    return out


def table(title: str, langs: list[str], rows: dict[str, tuple[dict[str, float], str]]) -> None:
    print(f"\n{title}")
    print(f"{'':<34}" + "".join(f"{lang:>8}" for lang in langs) + f"{'mean':>8}  converged")
    for name, (vals, conv) in rows.items():
        cells = [vals.get(lang, float("nan")) for lang in langs]
        print(f"{name:<34}" + "".join(f"{v:>8.4f}" for v in cells) + f"{np.mean(cells):>8.4f}  {conv}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a model directory (train.py's export)")
    p.add_argument("--data", default=str(ROOT / "data" / "sample"))
    p.add_argument("--langs", default="en,fi,he,zh")
    p.add_argument("--xnli-langs", default="en,zh")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--tasks", default="pos,parsing,xnli")
    p.add_argument("--pos-heads", default="quick,sample,paper")
    p.add_argument("--cache", default=None, help="activation cache directory (default: a temporary one)")
    p.add_argument("--variant", action="append", default=[], help="NAME:task=<t>,override,... (more rows)")
    p.add_argument("--no-sklearn", action="store_true")
    args = p.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    langs, tasks = args.langs.split(","), args.tasks.split(",")
    logging.basicConfig(level=logging.WARNING)
    for name in ("lightning", "lightning.pytorch", "melmo"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        args.cache = args.cache or str(tmp / "cache")
        variants: dict[str, list] = {}
        for v in args.variant:
            name, _, ovs = v.partition(":")
            ovs = ovs.split(",")
            task = next(o.split("=", 1)[1] for o in ovs if o.startswith("task="))
            variants.setdefault(task, []).append((name, [o for o in ovs if not o.startswith("task=")]))
        if "pos" in tasks:
            rows = {}
            for h in filter(None, args.pos_heads.split(",")):
                vals, fits = evaluate(args, "pos", langs, [f"heads={h}"], tmp, f"pos-{h}")
                rows[f"head heads={h}"] = ({lang: vals[("acc", lang)] for lang in langs}, converged(fits))
                print(f"  pos heads={h}: {rows[f'head heads={h}']}", flush=True)
            for name, ovs in variants.get("pos", []):
                vals, fits = evaluate(args, "pos", langs, ovs, tmp, f"pos-{name}")
                rows[name] = ({lang: vals[("acc", lang)] for lang in langs}, converged(fits))
                print(f"  pos {name}: {rows[name]}", flush=True)
            if not args.no_sklearn:
                rows.update({k: (v, "") for k, v in sklearn_probes(args, langs, tmp).items()})
            table(f"PoS test accuracy (mean of seeds {args.seeds})", langs, rows)
            if not args.no_sklearn and "head heads=sample" in rows:
                best = {lang: max(rows[k][0][lang] for k in ("sklearn MLP(256)", "sklearn LogReg"))
                        for lang in langs}
                gap = {lang: best[lang] - rows["head heads=sample"][0][lang] for lang in langs}
                print("best probe - heads=sample: "
                      + ", ".join(f"{lang} {g:+.4f}" for lang, g in gap.items()))
        if "parsing" in tasks:
            rows = {}
            plan = [("heads=quick", ["heads=quick"]), ("heads=sample", ["heads=sample"]),
                    ("heads=sample, normalize=none", ["heads=sample", "task.module.normalize=none"]),
                    *variants.get("parsing", [])]
            for name, ovs in plan:
                vals, fits = evaluate(args, "parsing", langs, ovs, tmp, f"parsing-{len(rows)}")
                rows[name] = ({lang: vals[("las", lang)] for lang in langs}, converged(fits))
                print(f"  parsing {name}: {rows[name]}", flush=True)
            table(f"Parsing test LAS (mean of seeds {args.seeds})", langs, rows)
        if "xnli" in tasks:
            xl, rows = args.xnli_langs.split(","), {}
            plan = [("heads=sample", ["heads=sample"]),
                    ("heads=sample, normalize=none", ["heads=sample", "task.module.normalize=none"]),
                    *variants.get("xnli", [])]
            for name, ovs in plan:
                ovs = [*ovs, "encode.raw_tokenizer.kind=whitespace"]
                vals, fits = evaluate(args, "xnli", xl, ovs, tmp, f"xnli-{len(rows)}")
                rows[name] = ({lang: vals[("acc", lang)] for lang in xl}, converged(fits))
                print(f"  xnli {name}: {rows[name]}", flush=True)
            table(f"XNLI dev accuracy (mean of seeds {args.seeds})", xl, rows)


if __name__ == "__main__":
    main()
