"""Heads read standardized features (issue 31): the statistics are the training units' (checked against
numpy), kept with the head, applied to every batch it reads; on features with a huge per-dimension
offset and scale the standardized head learns and the same head on the raw features does not."""

from functools import partial

import numpy as np
import pytest
import torch
from melmo.conf import compose as compose_app

from melmo.tasks.common.features import TokenBatches
from melmo.tasks.common.head import HeadModule, MLPTagger, Standardize, fit_head, predict, unit_rows



class Acts:
    """A stand-in for the activation cache: ``acts`` (units, L, D) and sentence ``offsets``."""

    def __init__(self, acts: np.ndarray, lengths: list[int]):
        self.acts, self.offsets = acts, np.concatenate([[0], np.cumsum(lengths)])


def test_statistics_are_numpys_over_every_chunk(monkeypatch):
    rng = np.random.default_rng(0)
    blocks = [(rng.normal(size=(n, 3, 5)) * rng.uniform(0.01, 100, size=(3, 5)) + 1e4).astype(np.float32)
              for n in (11, 3, 40)]
    blocks.append(np.full((6, 3, 5), 7.0, dtype=np.float32))
    blocks[-1][:, 0, 0] = np.arange(6)  # one dimension varies in this block only
    monkeypatch.setattr(Standardize, "CHUNK", 7)  # blocks cut into chunks merged one by one
    norm = Standardize()
    norm.fit(torch.from_numpy(b) for b in blocks)
    x = np.concatenate(blocks).astype(np.float64)
    np.testing.assert_allclose(norm.mean.numpy(), x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(norm.std.numpy(), x.std(0), rtol=1e-5)
    const = np.zeros((4, 2, 3), dtype=np.float32)
    norm.fit([torch.from_numpy(const)])
    # a constant dimension is divided by 1, as StandardScaler does
    assert torch.equal(norm.std, torch.ones(2, 3))


def _tagging(n_sent: int, seed: int, offset: np.ndarray, scale: np.ndarray):
    """Sentences of 8 units, 2 layers x 6 dims (both layers read the same z: the scalar mix keeps the
    signal); the tag is how many of z0, z1 are positive (3 tags). The raw features are z * scale +
    offset: the signal dims tiny, the others huge, all far from zero."""
    rng = np.random.default_rng(seed)
    z = np.repeat(rng.normal(size=(n_sent * 8, 1, 6)), 2, axis=1)
    tags = (z[:, 0, 0] > 0).astype(np.int64) + (z[:, 0, 1] > 0)
    acts = Acts((z * scale + offset).astype(np.float32), [8] * n_sent)
    return acts, [tags[k * 8 : (k + 1) * 8] for k in range(n_sent)]


def _accuracy(module, batches, targets) -> float:
    preds = predict(module, batches)
    return float(np.mean(np.concatenate([preds[i].numpy() == t for i, t in enumerate(targets)])))


@pytest.mark.parametrize("normalize", ["standardize", "none"])
def test_a_standardized_head_learns_features_far_off_scale(normalize, tmp_path):
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    offset = rng.uniform(-3e3, 3e3, size=(2, 6))
    scale = np.full((2, 6), 300.0)
    scale[:, :2] = 0.05  # the two dimensions that carry the tag
    (tr_acts, tr_tags), (te_acts, te_tags) = _tagging(150, 2, offset, scale), _tagging(40, 3, offset, scale)
    def make(acts, tags, shuffle):
        return TokenBatches(acts, range(len(tags)), tags, batch_size=16, shuffle=shuffle, seed=1)

    train, test = make(tr_acts, tr_tags, True), make(te_acts, te_tags, False)
    torch.manual_seed(0)
    module = HeadModule(MLPTagger(6, 32, 3), n_layers=2, optimizer=partial(torch.optim.Adam, lr=1e-2),
                        normalize=normalize)
    cfg = {"max_epochs": 8, "patience": 8, "accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
           "log_every_n_steps": 1}
    module, info = fit_head(module, train, test, cfg, seed=1, workdir=tmp_path)
    acc = _accuracy(module, test, te_tags)
    assert info["normalize"] == normalize
    if normalize == "standardize":
        x = tr_acts.acts.astype(np.float64)  # the training units' statistics, not the test units'
        np.testing.assert_allclose(module.norm.mean.numpy(), x.mean(0), rtol=1e-6)
        np.testing.assert_allclose(module.norm.std.numpy(), x.std(0), rtol=1e-5)
        assert {"norm.mean", "norm.std"} <= set(module.state_dict())  # kept with the head
        assert acc > 0.9
    else:
        assert module.norm is None and acc < 0.7  # the majority tag (1) is ~0.5


def test_unit_rows_reads_the_stores_or_every_real_unit():
    acts, tags = _tagging(5, 0, np.zeros((2, 6)), np.ones((2, 6)))
    batches = TokenBatches(acts, [0, 2, 4], [tags[i] for i in (0, 2, 4)], batch_size=2)
    want = np.concatenate([acts.acts[i * 8 : (i + 1) * 8] for i in (0, 2, 4)])
    np.testing.assert_array_equal(torch.cat(list(unit_rows(batches))).numpy(), want)
    plain = list(batches)  # any iterable of batches: the real units of each batch
    got = torch.cat(list(unit_rows(plain))).numpy()
    np.testing.assert_array_equal(np.sort(got, 0), np.sort(want, 0))


def test_an_unfitted_or_unknown_normalizer_is_an_error():
    with pytest.raises(ValueError, match="module.normalize='scale'"):
        HeadModule(MLPTagger(4, 4, 2), n_layers=1, normalize="scale")
    module = HeadModule(MLPTagger(4, 4, 2), n_layers=1, normalize="standardize")
    with pytest.raises(RuntimeError, match="no statistics"):
        module({"layers": torch.zeros(1, 2, 1, 4), "mask": torch.ones(1, 2, dtype=torch.bool)})


@pytest.mark.parametrize("heads", ["quick", "sample", "paper"])
def test_every_head_standardizes_under_every_preset(heads):
    for task in ("pos", "pos_transfer", "parsing", "xnli"):
        cfg = compose_app("evaluate", [f"task={task}", f"heads={heads}"])
        assert cfg.task.module.normalize == "standardize", (task, heads)
