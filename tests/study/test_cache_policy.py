"""study.cache=evict: an encoder's activation caches are freed once all of its evaluations are done, inside
the study's run loop; keep leaves them; a failed evaluation keeps them for the rerun."""

import hashlib
import json
from pathlib import Path

from test_study_plan import Fake, arg

from melmo import study as S
from melmo.study.resources import evict_caches
from melmo.study.run import command

OVERRIDES = ("study.strategies=[alpha04,trunc]", "study.mono=[]")


class CachingFake(Fake):
    """Fake stages that also write what the real ones would for the cache policy: a model's weights file, and
    per evaluation an activation-cache entry whose meta.json names those weights' sha256."""

    def __call__(self, stage, cwd):
        rc = super().__call__(stage, cwd)
        if rc == 0 and stage.kind == "train":
            (Path(arg(stage.argv, "hydra.run.dir")) / "model" / "weights.hdf5").write_bytes(
                stage.name.encode()
            )
        if rc == 0 and stage.kind == "evaluate":
            weights = Path(arg(stage.argv, "encoder.path")) / "weights.hdf5"
            entry = (
                self.out / "cache" / "activations" / "ab" / hashlib.sha256(stage.name.encode()).hexdigest()
            )
            entry.mkdir(parents=True)
            (entry / "activations.f16").write_bytes(bytes(64))
            sha = hashlib.sha256(weights.read_bytes()).hexdigest()  # independent of melmo's file_sha256
            (entry / "meta.json").write_text(json.dumps({"weights_sha256": sha, "label": stage.name}))
        return rc


def entries(cache: Path) -> list[str]:
    return sorted(json.loads(p.read_text())["label"] for p in cache.glob("*/*/meta.json"))


def test_evict_frees_each_encoders_caches_once_its_evaluations_are_done(compose_study, tmp_path):
    cfg = compose_study(*OVERRIDES, "study.cache=evict", f"paths.cache_dir={tmp_path / 'cache'}")
    fake = CachingFake(tmp_path)
    said = []
    assert S.run(cfg, runner=fake, echo=said.append) == 0
    assert entries(tmp_path / "cache" / "activations") == []
    freed = [line for line in said if line.startswith("study.cache=evict:")]
    n_eval = {m: sum(1 for s in fake.ran if s.startswith(f"evaluate-{m}-")) for m in ("alpha04", "trunc")}
    assert [line.split(":")[1].strip() for line in freed] == [
        "alpha04's evaluations are done",
        "trunc's evaluations are done",
    ]
    assert all(
        f"freed its {n_eval[m]} activation cache(s), {n_eval[m] * 64 / 1e9:.2f} GB" in line
        for m, line in zip(("alpha04", "trunc"), freed)
    )
    # each was freed after the last evaluation of its encoder, before the next encoder's evaluations
    last_alpha04 = max(i for i, s in enumerate(said) if "evaluate-alpha04-" in s and ": ok in" in s)
    first_trunc = min(i for i, s in enumerate(said) if "evaluate-trunc-" in s and ": running" in s)
    assert last_alpha04 < said.index(freed[0]) < first_trunc


def test_keep_leaves_the_caches_and_a_failed_evaluation_keeps_its_encoders(compose_study, tmp_path):
    cfg = compose_study(*OVERRIDES, "study.cache=keep", f"paths.cache_dir={tmp_path / 'keep' / 'cache'}")
    fake = CachingFake(tmp_path / "keep")
    assert S.run(cfg, runner=fake, echo=lambda _: None) == 0
    assert len(entries(tmp_path / "keep" / "cache" / "activations")) == sum(
        s.startswith("evaluate-") for s in fake.ran
    )

    cfg = compose_study(
        *OVERRIDES,
        "study.cache=evict",
        f"paths.cache_dir={tmp_path / 'evict' / 'cache'}",
        f"paths.log_dir={tmp_path / 'evict'}",
    )  # a study directory of its own
    fake = CachingFake(tmp_path / "evict", fail={"evaluate-trunc-pos"})
    assert S.run(cfg, runner=fake, echo=lambda _: None) == 1
    left = entries(tmp_path / "evict" / "cache" / "activations")
    assert left and all(x.startswith("evaluate-trunc-") for x in left)  # alpha04's freed, trunc's kept


def test_evict_caches_waits_for_every_evaluation_of_the_encoder(compose_study, tmp_path):
    cfg = compose_study(*OVERRIDES, "study.cache=evict", f"paths.cache_dir={tmp_path / 'cache'}")
    stages = S.plan(cfg)
    fake = CachingFake(tmp_path)
    evals = [s for s in stages if s.kind == "evaluate" and "-alpha04-" in s.name]
    for s in [x for x in stages if x.kind == "train"] + evals:
        s.argv = command(cfg, s)   # as the study launches it
        assert fake(s, tmp_path) == 0
    for s in evals[:-1]:
        s.status = "ok"
    assert evict_caches(cfg, stages, evals[0], print) == 0 and len(
        entries(tmp_path / "cache" / "activations")
    ) == len(evals)
    evals[-1].status = "ok"
    size = sum(p.stat().st_size for p in (tmp_path / "cache" / "activations").rglob("*") if p.is_file())
    assert evict_caches(cfg, stages, evals[-1], print) == size
    assert entries(tmp_path / "cache" / "activations") == []
