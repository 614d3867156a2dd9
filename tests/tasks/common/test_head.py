"""The generic head framework: a sentence-pair head (as XNLI's ESIM will be) trains through
HeadModule; only the scalar mix and the head have parameters; early stopping selects the best epoch."""

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from melmo.tasks.common.head import HeadModule, KeepBest, MLPTagger, fit_head, predict


class PairHead(nn.Module):
    """Mean-pool both sentences, classify [a; b] (a stand-in for ESIM)."""

    def __init__(self, dim):
        super().__init__()
        self.n_labels = 2
        self.out = nn.Linear(2 * dim, 2)

    def forward(self, features, mask, batch):
        (fa, fb), (ma, mb) = features, mask
        pool = [(f * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True) for f, m in ((fa, ma), (fb, mb))]
        return self.out(torch.cat(pool, -1))

    def loss(self, output, batch):
        return F.cross_entropy(output, batch["target"])

    def predict(self, output, batch):
        return output.argmax(-1)


def _pair_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        a, b = torch.randn(5, 3, 4, generator=g), torch.randn(4, 3, 4, generator=g)
        y = int(a[:, 2].mean() > b[:, 2].mean())  # only layer 2 carries the signal
        items.append({"layers": a, "layers_b": b, "target": y, "index": i})
    return items


def _collate(items):
    def pad(key):
        T = max(it[key].shape[0] for it in items)
        out = torch.zeros(len(items), T, 3, 4)
        mask = torch.zeros(len(items), T, dtype=torch.bool)
        for k, it in enumerate(items):
            out[k, : it[key].shape[0]] = it[key]
            mask[k, : it[key].shape[0]] = True
        return out, mask

    (la, ma), (lb, mb) = pad("layers"), pad("layers_b")
    return {"layers": la, "mask": ma, "layers_b": lb, "mask_b": mb,
            "target": torch.tensor([it["target"] for it in items]),
            "index": torch.tensor([it["index"] for it in items])}


def test_pair_head_trains_and_selects(tmp_path, monkeypatch):
    torch.set_num_threads(1)

    def no_checkpoint(*a, **k):
        raise AssertionError("fit_head wrote a checkpoint: the best weights must stay in memory")

    monkeypatch.setattr(torch, "save", no_checkpoint)
    module = HeadModule(PairHead(4), n_layers=3, optimizer=partial(torch.optim.Adam, lr=0.05))
    assert {n.split(".")[0] for n, _ in module.named_parameters()} == {"head", "mix"}
    train = DataLoader(_pair_data(256, 0), batch_size=32, shuffle=True, collate_fn=_collate)
    val = DataLoader(_pair_data(128, 1), batch_size=64, collate_fn=_collate)
    cfg = {"max_epochs": 15, "patience": 15, "accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
           "log_every_n_steps": 1}
    module, info = fit_head(module, train, val, cfg, seed=0, workdir=tmp_path)
    preds = predict(module, val)
    gold = {it["index"]: it["target"] for it in _pair_data(128, 1)}
    acc = sum(int(preds[i]) == gold[i] for i in gold) / len(gold)
    assert acc == info["best_score"] and acc > 0.8  # the restored weights are the selected epoch's
    assert module.mix.weights()[2] > module.mix.weights()[0]  # the mix learnt where the signal is
    assert list(tmp_path.iterdir()) == []  # nothing left behind
    assert 1 <= info["best_epoch"] <= info["epochs"] and info["converged"] == (info["best_epoch"] < 15)


class _Trainer:
    sanity_checking = False

    def __init__(self):
        self.callback_metrics, self.current_epoch = {}, 0


def test_keep_best_restores_the_best_validation_not_the_last():
    """Validation scores 0.5, 0.9, 0.7 with the weights changed every epoch: the kept state is the 0.9
    epoch's."""
    module, trainer, keep = nn.Linear(2, 1), _Trainer(), KeepBest("val/acc")
    for epoch, score in enumerate([0.5, 0.9, 0.7]):
        with torch.no_grad():
            module.weight.fill_(float(epoch))
        trainer.current_epoch, trainer.callback_metrics = epoch, {"val/acc": torch.tensor(score)}
        keep.on_validation_end(trainer, module)
    assert keep.epoch == 1 and keep.score == pytest.approx(0.9)
    assert torch.equal(keep.state["weight"], torch.full((1, 2), 1.0))  # a copy, not the live (last) tensor


def test_task_configs_build_their_head_module_with_the_configured_optimizer():
    """conf/task/{pos,parsing,xnli}.yaml: head and module mirror the constructors (``_target_``, optimizer
    partial)."""
    from pathlib import Path

    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from melmo.tasks.common.head import build_module

    conf = Path(__file__).resolve().parents[3] / "conf" / "task"
    want = {"pos": (torch.optim.Adam, 1e-3, type(None)),
            "parsing": (torch.optim.Adam, 2e-3, torch.optim.lr_scheduler.LambdaLR),
            "xnli": (torch.optim.Adam, 4e-4, torch.optim.lr_scheduler.ReduceLROnPlateau)}
    sizes = {"pos": {"in_dim": 8, "n_labels": 17}, "parsing": {"n_in": 8, "n_rels": 3}, "xnli": {"n_in": 8}}
    for task, (opt_cls, lr, sched_cls) in want.items():
        cfg = OmegaConf.load(conf / f"{task}.yaml")
        assert "optim" not in cfg and "layer_norm" not in cfg and "layer_norm" not in cfg.head
        module = build_module(cfg.module, instantiate(cfg.head, **sizes[task]), n_layers=3)
        assert isinstance(module, HeadModule)
        got = module.configure_optimizers()
        opt = got["optimizer"] if isinstance(got, dict) else got
        sched = got["lr_scheduler"]["scheduler"] if isinstance(got, dict) else None
        assert type(opt) is opt_cls and opt.defaults["lr"] == lr and isinstance(sched, sched_cls), task


def test_mlp_tagger_ignores_padding_in_loss():
    head = MLPTagger(4, 8, 3)
    out = torch.randn(2, 3, 3)
    batch = {"target": torch.tensor([[0, 1, -100], [2, -100, -100]])}
    expected = F.cross_entropy(torch.stack([out[0, 0], out[0, 1], out[1, 0]]), torch.tensor([0, 1, 2]))
    torch.testing.assert_close(head.loss(out, batch), expected)


def test_seed_spread_is_the_sample_std_over_seeds_per_task_metric_language():
    from melmo.tasks.run import seed_spread

    rows = [{"task": "pos", "metric": "acc", "language": "en", "seed": s, "value": v}
            for s, v in ((1, 0.5), (2, 0.7), (3, 0.9))]
    # one seed: no spread
    rows.append({"task": "pos", "metric": "acc", "language": "fi", "seed": 1, "value": 0.4})
    # sqrt(((.2)^2 * 2) / 2)
    assert seed_spread(rows) == ["pos acc en: mean 0.7000, seed std 0.2000 over 3 seeds"]
    # two encoders' rows of one evaluation (task=baseline: majority and chance) are two groups, not one
    floors = [{"encoder": e, "task": "xnli", "metric": "acc", "language": "tr", "seed": 1, "value": v}
              for e, v in (("majority", 0.33), ("chance", 1 / 3))]
    assert seed_spread(floors) == []


def test_the_tagger_runs_only_the_real_words_through_its_mlp():
    """Padding costs nothing and changes nothing: real positions get net(features), padded ones 0, and the
    loss and gradients do not depend on what sits in the padding."""
    torch.manual_seed(0)
    head = MLPTagger(4, 8, 3, dropout=0.0)
    x = torch.randn(2, 5, 4)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    target = torch.tensor([[0, 1, 2, 0, 1], [2, 1, -100, -100, -100]])
    out = head(x, mask, {})
    assert torch.allclose(out[mask], head.net(x[mask])) and torch.equal(out[~mask], torch.zeros(3, 3))
    y = x.clone()
    y[1, 2:] = 1e6   # garbage in the padding
    losses = []
    for feats in (x, y):
        head.zero_grad()
        loss = head.loss(head(feats, mask, {}), {"target": target})
        loss.backward()
        losses.append((loss.detach(), head.net[1].weight.grad.clone()))
    assert torch.equal(losses[0][0], losses[1][0]) and torch.equal(losses[0][1], losses[1][1])
