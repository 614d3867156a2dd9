"""The study summary counts, per task, the heads whose best epoch was their epoch limit (issue 31), from the
``heads`` section every evaluation writes beside the results
(melmo.tasks.common.context.EvalContext.record)."""

import json

from omegaconf import OmegaConf

from melmo.study.run import heads_at_limit, heads_line, write_manifest


def _record(out, task, encoder, heads):
    path = out / "configs" / task / f"{encoder}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create({"config": {}, "protocol": {}, "heads": heads}), path)


def test_heads_at_their_limit_are_counted_per_task(tmp_path):
    def h(best, limit):
        return {"best_epoch": best, "epochs": best, "max_epochs": limit, "converged": best < limit}
    _record(tmp_path, "pos", "M0.4", {"en": {1: h(3, 8), 2: h(8, 8)}, "fi": {1: h(2, 8)}})
    _record(tmp_path, "pos", "TRUNC", {"en": {1: h(8, 8)}})
    _record(tmp_path, "parsing", "M0.4", {"en": {1: h(5, 6)}})
    _record(tmp_path, "tatoeba", "M0.4", {})  # no head
    assert heads_at_limit(tmp_path) == {"pos": {"heads": 4, "at_limit": 2},
                                        "parsing": {"heads": 1, "at_limit": 0}}
    assert heads_line(heads_at_limit(tmp_path)).endswith("parsing 0/1, pos 2/4")
    cfg = OmegaConf.create({"dir": str(tmp_path), "study": {"name": "x"}})
    body = json.loads(write_manifest(cfg, []).read_text())
    assert body["heads"]["pos"] == {"heads": 4, "at_limit": 2}
