"""ESIM head: shapes, padding never changes outputs, alignment by hand, and it can overfit a tiny set."""

import pytest
import torch

from melmo.tasks.xnli.esim import ESIM, _masked_softmax


def pairs(seed=0, b=4, tp=7, th=5, d=10):
    g = torch.Generator().manual_seed(seed)
    p, h = torch.randn(b, tp, d, generator=g), torch.randn(b, th, d, generator=g)
    lp = torch.tensor([7, 3, 5, 1][:b])
    lh = torch.tensor([2, 5, 1, 4][:b])
    pm = torch.arange(tp)[None] < lp[:, None]
    hm = torch.arange(th)[None] < lh[:, None]
    return p, pm, h, hm


def test_shapes():
    torch.manual_seed(0)
    m = ESIM(10, hidden=6, dropout=0.5, n_classes=3)
    assert m(*pairs()).shape == (4, 3)


def test_padding_does_not_change_outputs():
    torch.manual_seed(0)
    m = ESIM(10, hidden=6).eval()
    p, pm, h, hm = pairs()
    out = m(p, pm, h, hm)
    p2, h2 = p.clone(), h.clone()
    p2[~pm], h2[~hm] = 50.0, -50.0  # junk in the padding
    assert torch.allclose(m(p2, pm, h2, hm), out, atol=1e-6)
    for k in range(4):  # each pair alone, unpadded
        lp, lh = int(pm[k].sum()), int(hm[k].sum())
        alone = m(p[k:k + 1, :lp], pm[k:k + 1, :lp], h[k:k + 1, :lh], hm[k:k + 1, :lh])
        assert torch.allclose(alone[0], out[k], atol=1e-5)


def test_masked_softmax_ignores_padding():
    scores = torch.tensor([[1.0, 2.0, 30.0]])
    got = _masked_softmax(scores, torch.tensor([[True, True, False]]))
    want = torch.softmax(torch.tensor([1.0, 2.0]), 0)
    assert torch.allclose(got[0, :2], want) and got[0, 2] == 0


def test_empty_sentence_is_an_error():
    p, pm, h, hm = pairs()
    hm[2] = False
    with pytest.raises(ValueError, match="at least one token"):
        ESIM(10, hidden=6)(p, pm, h, hm)


def test_overfits_a_tiny_set_and_gradient_reaches_the_encoder():
    torch.manual_seed(0)
    m = ESIM(10, hidden=12, dropout=0.0)
    p, pm, h, hm = pairs(b=4)
    y = torch.tensor([0, 1, 2, 1])
    opt = torch.optim.Adam(m.parameters(), lr=3e-2)
    for step in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(p, pm, h, hm), y)
        loss.backward()
        if step == 0:
            assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in m.encoder.parameters())
        opt.step()
    assert loss.item() < 0.05
    assert torch.equal(m(p, pm, h, hm).argmax(-1), y)


def test_forward_equals_the_paper_equations_for_one_pair():
    """Chen et al. 2017 eqs. (1)-(16), written out with explicit loops over one unpadded pair."""
    torch.manual_seed(0)
    m = ESIM(10, hidden=6).eval()
    p, pm, h, hm = pairs(b=1)
    a_in, b_in = p[0, : int(pm[0].sum())], h[0, : int(hm[0].sum())]
    a = m.encoder(a_in[None])[0][0]
    b = m.encoder(b_in[None])[0][0]
    a_t = torch.stack([sum(torch.exp(a[i] @ b[j]) * b[j] for j in range(len(b)))
                       / sum(torch.exp(a[i] @ b[k]) for k in range(len(b))) for i in range(len(a))])
    b_t = torch.stack([sum(torch.exp(a[i] @ b[j]) * a[i] for i in range(len(a)))
                       / sum(torch.exp(a[k] @ b[j]) for k in range(len(a))) for j in range(len(b))])

    def compose(x, xt):
        enh = torch.cat((x, xt, x - xt, x * xt), -1)
        return m.composition(torch.relu(m.projection(enh))[None])[0][0]

    va, vb = compose(a, a_t), compose(b, b_t)
    v = torch.cat((va.mean(0), va.max(0).values, vb.mean(0), vb.max(0).values))
    want = m.output(torch.tanh(m.hidden(v)))
    assert torch.allclose(m(p, pm, h, hm)[0], want, atol=1e-5)
