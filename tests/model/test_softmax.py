"""Sampled softmax and log-uniform sampler (melmo.model.softmax) against bilm-tf bilm/training.py
dump_weights."""

import math
import random
import warnings

import pytest
import torch

from melmo.model.softmax import Candidates, LogUniformSampler, SampledSoftmax, log_uniform_probs


def _zipf_targets(V, N, seed):
    """(N,) targets drawn from the log-uniform distribution the vocabulary order assumes."""
    g = torch.Generator().manual_seed(seed)
    return torch.multinomial(log_uniform_probs(V).float(), N, replacement=True, generator=g)


def _chi2(counts, probs):
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


def _tf_unique_reference(V, S, rng):
    """TF's RangeSampler::SampleBatchGetExpectedCount with unique=True, one draw at a time."""
    log_range = math.log(V + 1)
    out, seen, tries = [], set(), 0
    while len(out) < S:
        tries += 1
        k = min(int(math.exp(rng.random() * log_range)) - 1, V - 1)
        if k not in seen:
            seen.add(k)
            out.append(k)
    return out, tries


# -- sampler -------------------------------------------------------------------------------------
def test_log_uniform_probs_formula():
    V = 1000
    p = log_uniform_probs(V)
    k = torch.arange(V, dtype=torch.float64)
    assert torch.allclose(p, (torch.log(k + 2) - torch.log(k + 1)) / math.log(V + 1))
    assert abs(float(p.sum()) - 1.0) < 1e-12
    assert bool((p[1:] < p[:-1]).all())


def test_sampler_with_replacement_matches_zipf():
    V = 50
    s = LogUniformSampler(V)
    g = torch.Generator().manual_seed(0)
    draws = torch.cat([s.sample(4000, generator=g, unique=False).ids for _ in range(50)])  # 200k
    counts = torch.bincount(draws, minlength=V).double()
    assert counts.numel() == V
    stat = _chi2(counts, log_uniform_probs(V))
    assert stat < 49 + 5 * math.sqrt(2 * 49), stat  # df = 49: mean 49, sd ~9.9
    # the same statistic rejects close alternatives (so the test above can fail)
    shifted = log_uniform_probs(V + 1)[1:]
    assert _chi2(counts, shifted / shifted.sum()) > 1000
    harmonic = 1 / torch.arange(1, V + 1, dtype=torch.float64)  # Zipf 1/(k+1): close, not equal
    assert _chi2(counts, harmonic / harmonic.sum()) > 500
    # with replacement: expected count = p * S (TF's shortcut for num_tries == S)
    c = s.sample(64, generator=g, unique=False)
    assert c.num_tries == 64
    assert torch.allclose(c.expected_count, (log_uniform_probs(V, c.ids) * 64).float())


def test_unique_sampler_equals_sequential_tf_loop_on_same_stream(monkeypatch):
    """The vectorised dedupe gives exactly TF's one-at-a-time rejection loop on the same draws."""
    s = LogUniformSampler(1000)
    stream = []
    draw = s._draw

    def recording(n, generator, device):
        x = draw(n, generator, device)
        stream.append(x)
        return x

    monkeypatch.setattr(s, "_draw", recording)
    for S, seed in ((300, 0), (700, 1), (1000, 2), (1, 3)):
        stream.clear()
        c = s.sample(S, generator=torch.Generator().manual_seed(seed))
        ref, seen, tries = [], set(), 0
        for k in torch.cat(stream).tolist():
            tries += 1
            if k not in seen:
                seen.add(k)
                ref.append(k)
            if len(ref) == S:
                break
        assert c.ids.tolist() == ref
        assert c.num_tries == tries


def test_unique_sampler_inclusion_rates_match_tf_algorithm():
    V, S, R = 30, 10, 3000
    s = LogUniformSampler(V)
    g = torch.Generator().manual_seed(1)
    rng = random.Random(1)
    ours, ref = torch.zeros(V), torch.zeros(V)
    tries_ours, tries_ref = 0, 0
    for _ in range(R):
        c = s.sample(S, generator=g)
        ours[c.ids] += 1
        tries_ours += c.num_tries
        ids, t = _tf_unique_reference(V, S, rng)
        ref[ids] += 1
        tries_ref += t
    p_ref = ref / R
    sd = torch.sqrt(2 * p_ref.clamp(0.02, 0.98) * (1 - p_ref.clamp(0.02, 0.98)) / R)  # two-sample sd
    assert ((ours / R - p_ref).abs() < 4.5 * sd).all(), (ours / R, p_ref)
    assert abs(tries_ours / tries_ref - 1) < 0.03
    # power: a plausible wrong sampler (S draws with replacement, then deduplicated: inclusion
    # 1 - (1 - p)^S) fails the same check by a wide margin
    wrong = 1 - (1 - log_uniform_probs(V).float()) ** S
    assert ((wrong - p_ref).abs() > 4.5 * sd).sum() >= V // 2


def test_unique_sampler_ids_count_range_and_expected_count():
    V, S = 5000, 1000
    s = LogUniformSampler(V)
    c = s.sample(S, generator=torch.Generator().manual_seed(0))
    assert isinstance(c, Candidates)
    assert c.ids.dtype == torch.long and c.ids.shape == (S,)
    assert c.ids.unique().numel() == S
    assert int(c.ids.min()) >= 0 and int(c.ids.max()) < V
    assert c.num_tries >= S
    p = log_uniform_probs(V, c.ids)
    assert torch.allclose(c.expected_count, (1 - (1 - p) ** c.num_tries).float(), rtol=1e-6)
    # true classes: the same formula, via the same num_tries
    t = torch.tensor([0, 7, V - 1])
    q = s.expected_count(t, S, c.num_tries)
    assert torch.allclose(q, (1 - (1 - log_uniform_probs(V, t)) ** c.num_tries).float(), rtol=1e-6)
    # all of a small vocabulary
    every = LogUniformSampler(20).sample(20, generator=torch.Generator().manual_seed(0))
    assert sorted(every.ids.tolist()) == list(range(20))
    with pytest.raises(ValueError):
        LogUniformSampler(20).sample(21)


def test_sampler_reproducible_with_generator_and_large_vocab():
    s = LogUniformSampler(100_000)
    a = s.sample(8192, generator=torch.Generator().manual_seed(5))
    b = s.sample(8192, generator=torch.Generator().manual_seed(5))
    c = s.sample(8192, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a.ids, b.ids) and a.num_tries == b.num_tries
    assert torch.equal(a.expected_count, b.expected_count)
    assert not torch.equal(a.ids, c.ids)
    assert a.ids.unique().numel() == 8192 and int(a.ids.max()) < 100_000
    # global RNG path follows torch.manual_seed (what a checkpointed rng state restores)
    torch.manual_seed(11)
    d = s.sample(100)
    torch.manual_seed(11)
    assert torch.equal(d.ids, s.sample(100).ids)


# -- sampled softmax ------------------------------------------------------------------------------
def test_init_matches_bilm_tf():
    m = SampledSoftmax(4000, 64, num_samples=100)
    assert m.weight.shape == (4000, 64) and m.bias.shape == (4000,)
    w = m.weight.detach()
    assert abs(float(w.std()) - 1 / 8) < 0.005  # N(0, 1/dim), bilm-tf bilm/training.py dump_weights
    assert abs(float(w.mean())) < 0.005
    assert float(m.bias.detach().abs().max()) == 0.0


def _manual_sampled_loss(m, h, y, cand, drop_hits=True):
    """Row by row, the candidate list built explicitly (hits dropped from the list)."""
    out = []
    q_true = m.sampler.expected_count(y, cand.ids.numel(), cand.num_tries)
    for i in range(h.shape[0]):
        keep = cand.ids != y[i] if drop_hits else torch.ones_like(cand.ids, dtype=torch.bool)
        ids, q = cand.ids[keep], cand.expected_count[keep]
        logits = torch.cat([
            (h[i] @ m.weight[y[i]] + m.bias[y[i]] - torch.log(q_true[i])).reshape(1),
            h[i] @ m.weight[ids].t() + m.bias[ids] - torch.log(q),
        ])
        out.append(torch.logsumexp(logits, 0) - logits[0])
    return torch.stack(out).mean()


def test_accidental_hits_removed():
    torch.manual_seed(0)
    V, D = 20, 8
    m = SampledSoftmax(V, D, num_samples=6)
    with torch.no_grad():
        m.bias.normal_()
    h = torch.randn(4, D)
    cand = m.sampler.sample(6, generator=torch.Generator().manual_seed(0))
    ids = cand.ids.tolist()
    y = torch.tensor([ids[0], ids[3], 19 if 19 not in ids else 18, ids[5]])  # 3 of 4 rows hit
    assert sum(int(t) in ids for t in y) >= 3
    loss = m(h, y, sampled=cand)
    assert torch.allclose(loss, _manual_sampled_loss(m, h, y, cand), atol=1e-6)
    # keeping the hits (TF's remove_accidental_hits=False) gives another, larger loss
    m.remove_accidental_hits = False
    kept = m(h, y, sampled=cand)
    assert torch.allclose(kept, _manual_sampled_loss(m, h, y, cand, drop_hits=False), atol=1e-6)
    assert kept.item() > loss.item() + 1e-3
    # gradients flow and stay finite with the -FLOAT_MAX logits
    m.remove_accidental_hits = True
    m(h, y, sampled=cand).backward()
    assert torch.isfinite(m.weight.grad).all() and torch.isfinite(m.bias.grad).all()


def test_sampled_loss_approaches_full_loss_as_samples_approach_vocab():
    torch.manual_seed(0)
    V, D, N, R = 200, 16, 128, 24
    m = SampledSoftmax(V, D, num_samples=10)
    h = torch.randn(N, D)
    y = _zipf_targets(V, N, seed=0)
    g = torch.Generator().manual_seed(0)
    gaps = {}
    with torch.no_grad():
        full = float(m.full_loss(h, y))
        for S in (10, 50, 150, 199):
            losses = [float(m.sampled_loss(h, y, m.sampler.sample(S, generator=g))) for _ in range(R)]
            gaps[S] = abs(sum(losses) / R - full)
    assert gaps[10] > gaps[50] > gaps[150] > gaps[199], gaps
    assert gaps[199] < 0.01 * full, gaps
    assert gaps[50] < 0.2 * full, gaps


def test_log_q_correction_expected_loss_and_gradient_near_full():
    """At S = V/2 (Zipf targets) the mean sampled loss is within a few % of the full loss and the
    mean sampled gradient points along the full gradient; without the log-Q correction both are
    clearly worse (the test has power)."""
    torch.manual_seed(1)
    V, D, N, R = 200, 16, 256, 30
    m = SampledSoftmax(V, D, num_samples=100)
    h = torch.randn(N, D)
    y = _zipf_targets(V, N, seed=1)
    full = m.full_loss(h, y)
    grad_full = torch.autograd.grad(full, [m.weight, m.bias])
    grad_full = torch.cat([x.flatten() for x in grad_full])

    def mean_sampled(S, log_q):
        m.subtract_log_q = log_q
        g = torch.Generator().manual_seed(2)
        tot, grad = 0.0, torch.zeros_like(grad_full)
        for _ in range(R):
            loss = m(h, y, sampled=m.sampler.sample(S, generator=g))
            tot += loss.item() / R
            grad += torch.cat([x.flatten() for x in torch.autograd.grad(loss, [m.weight, m.bias])]) / R
        m.subtract_log_q = True
        cos = float(torch.nn.functional.cosine_similarity(grad, grad_full, dim=0))
        print(f"S={S} log_q={log_q}: mean loss {tot:.4f} (full {full.item():.4f}), grad cosine {cos:.4f}")
        return tot, cos

    loss_q, cos_q = mean_sampled(100, True)
    loss_noq, cos_noq = mean_sampled(100, False)
    rel_q, rel_noq = abs(loss_q / full.item() - 1), abs(loss_noq / full.item() - 1)
    assert rel_q < 0.07, (loss_q, full.item())
    assert rel_noq > rel_q + 0.04, (rel_q, rel_noq)
    assert cos_q > 0.99 and cos_q > cos_noq, (cos_q, cos_noq)
    loss_q20, cos_q20 = mean_sampled(20, True)
    _, cos_noq20 = mean_sampled(20, False)
    assert cos_q20 > 0.95 and cos_q20 > cos_noq20 + 0.03, (cos_q20, cos_noq20)


def test_fallback_to_full_softmax_when_samples_not_below_vocab():
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="full softmax"):
        m = SampledSoftmax(32, 8, num_samples=32)
    assert m.use_full and m.sample() is None
    h, y = torch.randn(10, 8), torch.randint(0, 32, (10,))
    m.train()
    assert torch.equal(m(h, y), m.full_loss(h, y))
    ref = torch.nn.functional.cross_entropy(h @ m.weight.t() + m.bias, y)
    assert torch.allclose(m(h, y), ref, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not SampledSoftmax(33, 8, num_samples=32).use_full


def test_eval_mode_and_full_log_probs():
    torch.manual_seed(0)
    m = SampledSoftmax(300, 8, num_samples=16)
    h, y = torch.randn(50, 8), torch.randint(0, 300, (50,))
    lp = m.full_log_probs(h)
    assert lp.shape == (50, 300)
    assert torch.allclose(torch.logsumexp(lp, -1), torch.zeros(50), atol=1e-5)
    per_row = m.full_loss(h, y, reduction="none")
    assert torch.allclose(per_row, -lp.gather(1, y[:, None]).squeeze(1), atol=1e-5)
    assert torch.allclose(m.full_loss(h, y, reduction="none", chunk_rows=7), per_row, atol=1e-6)
    assert torch.allclose(m.full_loss(h, y, reduction="sum"), per_row.sum(), atol=1e-4)
    m.eval()
    assert torch.allclose(m(h, y), per_row.mean())  # eval without candidates: full softmax
    m.train()
    assert not torch.allclose(m(h, y), per_row.mean())  # training: sampled


def test_sgd_step_lowers_full_loss():
    torch.manual_seed(0)
    V, D, N = 500, 16, 64
    m = SampledSoftmax(V, D, num_samples=64)
    h = torch.randn(N, D, requires_grad=True)
    y = _zipf_targets(V, N, seed=3)
    opt = torch.optim.SGD([*m.parameters(), h], lr=0.5)
    before = m.full_loss(h, y).item()
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        opt.zero_grad()
        m(h, y, generator=g).backward()
        opt.step()
    after = m.full_loss(h, y).item()
    assert after < before - 0.1, (before, after)


def test_bf16_autocast_cpu():
    torch.manual_seed(0)
    V, D, N = 1000, 32, 64
    m = SampledSoftmax(V, D, num_samples=128)
    lin = torch.nn.Linear(D, D)
    x, y = torch.randn(N, D), _zipf_targets(V, N, seed=4)
    cand = m.sample(torch.Generator().manual_seed(0))
    ref = m(lin(x), y, sampled=cand)
    ref_full = m.full_loss(lin(x), y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = lin(x)
        assert hidden.dtype == torch.bfloat16
        loss = m(hidden, y, sampled=cand)
        full = m.full_loss(hidden, y)
    assert loss.dtype == torch.float32 and full.dtype == torch.float32
    assert torch.isfinite(loss) and torch.isfinite(full)
    assert abs(loss.item() / ref.item() - 1) < 0.01
    assert abs(full.item() / ref_full.item() - 1) < 0.01
    loss.backward()
    assert torch.isfinite(m.weight.grad).all() and torch.isfinite(lin.weight.grad).all()
