"""Biaffine scorer, MLP and parser head: shapes, formula, loss, learning, gradients, decoding."""

import pytest
import torch

from melmo.tasks.parsing.biaffine import Biaffine
from melmo.tasks.parsing.mlp import MLP
from melmo.tasks.parsing.mst import is_tree
from melmo.tasks.parsing.parser import IGNORE_INDEX, BiaffineParser
from melmo.tasks.parsing.task import ParserHead
from melmo.tasks.parsing.vocab import RelationVocab


def test_arc_biaffine_is_bilinear_plus_head_bias():
    torch.manual_seed(0)
    b = Biaffine(4, 1, bias_x=True, bias_y=False)
    with torch.no_grad():
        b.weight.normal_()
    w, u = b.weight[0, :4, :], b.weight[0, 4, :]  # last row multiplies the dependent side's 1
    x, y = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    s = b(x, y)
    assert s.shape == (2, 3, 5)
    want = torch.einsum("bi,ij,bj->b", x[1, 2][None], w, y[1, 4][None]) + y[1, 4] @ u
    assert s[1, 2, 4].item() == pytest.approx(want.item(), rel=1e-5)
    # the bias depends on the head only: shifting it moves every dependent's score for that head alike
    with torch.no_grad():
        b.weight[0, 4, :] += 1.0
    delta = b(x, y) - s
    assert torch.allclose(delta, y.sum(-1)[:, None, :].expand_as(delta), atol=1e-5)


def test_label_biaffine_shape_and_both_biases():
    b = Biaffine(6, 7, bias_x=True, bias_y=True)
    assert b.weight.shape == (7, 7, 7)
    assert b(torch.randn(2, 3, 6), torch.randn(2, 4, 6)).shape == (2, 3, 4, 7)
    with torch.no_grad():
        b.weight[:, 6, 6] = torch.arange(7.0)  # the constant term: [x;1]^T W [y;1] picks W[6, 6]
    s = b(torch.zeros(1, 2, 6), torch.zeros(1, 2, 6))
    assert torch.equal(s[0, 1, 0], torch.arange(7.0))


def test_mlp_shape_and_leaky_relu():
    m = MLP(5, 8, dropout=0.5).eval()
    x = torch.randn(3, 4, 5)
    y = m(x)
    assert y.shape == (3, 4, 8)
    pre = m.linear(x)
    assert torch.allclose(y, torch.where(pre > 0, pre, 0.1 * pre))


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 3, 1])
    t = int(lengths.max())
    mask = torch.arange(t)[None] < lengths[:, None]
    x = torch.randn(3, t, 12, generator=g)
    heads = torch.tensor([[2, 0, 2, 3, 3], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]])
    rels = torch.randint(0, 4, (3, t), generator=g).masked_fill(~mask, 0)
    return x, mask, heads, rels, lengths


def small_parser(**kw):
    args = {"n_in": 12, "n_rels": 4, "n_lstm_hidden": 16, "n_lstm_layers": 2, "n_arc_mlp": 20, "n_rel_mlp": 8,
                "input_dropout": 0.0, "lstm_dropout": 0.0, "mlp_dropout": 0.0}
    args.update(kw)
    return BiaffineParser(**args)


def test_parser_shapes_and_masked_heads():
    torch.manual_seed(0)
    x, mask, _heads, _rels, _lengths = batch()
    s_arc, s_rel = small_parser()(x, mask)
    assert s_arc.shape == (3, 5, 6) and s_rel.shape == (3, 5, 6, 4)
    assert torch.isinf(s_arc[1, :, 4:]).all() and torch.isfinite(s_arc[1, :, :4]).all().item() is False
    for i in range(5):
        assert s_arc[0, i, i + 1] == float("-inf")  # no self-loop
    assert torch.isfinite(s_arc[0, 0, [0, 2, 3, 4, 5]]).all()


def test_padding_does_not_change_scores():
    torch.manual_seed(0)
    p = small_parser().eval()
    with torch.no_grad():  # the biaffine weights start at zero: make the scores depend on the input
        p.arc_attn.weight.normal_()
        p.rel_attn.weight.normal_()
    x, mask, *_ = batch()
    s_arc, s_rel = p(x, mask)
    x2 = x.clone()
    x2[~mask] = 100.0
    s_arc2, s_rel2 = p(x2, mask)
    alone, alone_rel = p(x[1:2, :3], mask[1:2, :3])
    assert torch.allclose(s_arc, s_arc2) and torch.allclose(s_rel, s_rel2)
    assert torch.allclose(s_arc[1, :3, :4], alone[0], atol=1e-4)
    assert torch.allclose(s_rel[1, :3, :4], alone_rel[0], atol=1e-4)
    assert s_arc[1, :3, :4].isfinite().sum() == 9 and s_arc[1, :3, :4].abs().max() > 1e-3


def test_loss_decreases_and_gradient_flows():
    torch.manual_seed(0)
    x, mask, heads, rels, _ = batch()
    p = small_parser()
    opt = torch.optim.Adam(p.parameters(), lr=3e-2)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = p.loss(*p(x, mask), heads, rels, mask)
        loss.backward()
        if len(losses) == 3:  # the biaffine weights start at zero: nothing below them moves at step 0
            for name, param in p.named_parameters():
                assert param.grad is not None and param.grad.abs().sum() > 0, name
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    pred_heads, pred_rels = p.decode(*p(x, mask), mask)
    assert torch.equal(pred_heads[mask], heads[mask]) and torch.equal(pred_rels[mask], rels[mask])


def test_loss_is_cross_entropy_over_heads_and_labels_at_gold_head():
    _x, mask, heads, rels, _ = batch()
    s_arc = torch.randn(3, 5, 6)
    s_rel = torch.randn(3, 5, 6, 4)
    n, arc, rel = 0, 0.0, 0.0
    for b in range(3):
        for i in range(int(mask[b].sum())):
            arc -= torch.log_softmax(s_arc[b, i], 0)[heads[b, i]]
            rel -= torch.log_softmax(s_rel[b, i, heads[b, i]], 0)[rels[b, i]]
            n += 1
    got = BiaffineParser.loss(s_arc, s_rel, heads, rels, mask)
    assert got.item() == pytest.approx((arc / n + rel / n).item(), rel=1e-5)


def test_unseen_relation_is_ignored_by_the_loss():
    vocab = RelationVocab.build([["nsubj", "root", "obj"], ["root", "punct"]])
    assert (vocab.labels[0] == "root"
            and vocab.encode(["obj", "reparandum"]) == [vocab.index["obj"], IGNORE_INDEX])
    assert vocab.unseen(["reparandum", "obj", "reparandum"]) == {"reparandum": 2}
    _x, mask, heads, rels, _ = batch()
    s_arc, s_rel = torch.randn(3, 5, 6), torch.randn(3, 5, 6, 4)
    rels_unseen = rels.clone()
    rels_unseen[0, 0] = IGNORE_INDEX
    loss = BiaffineParser.loss(s_arc, s_rel, heads, rels_unseen, mask)
    assert torch.isfinite(loss)
    only_unseen = torch.full_like(rels, IGNORE_INDEX)
    assert torch.isfinite(BiaffineParser.loss(s_arc, s_rel, heads, only_unseen, mask))


@pytest.mark.parametrize("projective", [False, True])
def test_decode_gives_single_root_trees(projective):
    torch.manual_seed(1)
    x, mask, *_ , lengths = batch()
    p = small_parser()
    with torch.no_grad():
        p.arc_attn.weight.normal_()
    heads, rels = p.decode(*p(x, mask), mask, projective=projective)
    assert heads.shape == rels.shape == (3, 5) and heads.dtype == torch.long
    assert is_tree(heads.numpy(), lengths.numpy()).all()
    assert (heads[~mask] == 0).all() and (rels[~mask] == 0).all()


def test_a_parser_without_a_bilstm_reads_the_features_directly():
    """heads=sample's n_lstm_layers=0 is allowed and gives the same shapes; the arc scores of a word then
    depend on its own features and the head's only (no recurrence carries other words in)."""
    torch.manual_seed(0)
    x, mask, heads, rels, _ = batch()
    parser = small_parser(n_lstm_layers=0)
    assert parser.lstm is None
    # zero at start (SuPar): make the scores depend on the words
    torch.nn.init.normal_(parser.arc_attn.weight)
    s_arc, s_rel = parser(x, mask)
    assert s_arc.shape == (3, 5, 6) and s_rel.shape == (3, 5, 6, 4)
    BiaffineParser.loss(s_arc, s_rel, heads, rels, mask).backward()
    assert parser.arc_mlp_d.linear.weight.grad.abs().sum() > 0
    y = x.clone()
    y[0, 4] += 1.0   # word 5 changes: the score of word 1 with head 3 does not
    assert torch.equal(parser(y, mask)[0][0, 0, 3], s_arc[0, 0, 3])
    with_lstm = small_parser(n_lstm_layers=1)   # the negative control: a biLSTM carries word 5 to word 1
    torch.nn.init.normal_(with_lstm.arc_attn.weight)
    assert not torch.equal(with_lstm(y, mask)[0][0, 0, 3], with_lstm(x, mask)[0][0, 0, 3])
    with pytest.raises(ValueError, match="n_lstm_layers=-1"):
        small_parser(n_lstm_layers=-1)


def test_relations_at_one_head_equal_the_full_scores_gathered():
    """Training and decoding score relations at one head per word (``encode`` + ``rel_at``): the same
    loss, gradients and trees as the reference path (``forward``'s every-head ``s_rel``, gathered)."""
    torch.manual_seed(2)
    x, mask, heads, rels, _ = batch()
    p = small_parser()
    with torch.no_grad():
        for w in (p.arc_attn.weight, p.rel_attn.weight):
            w.normal_()
    p.eval()  # no dropout: both paths see the same features
    s_arc, s_rel = p(x, mask)
    full_loss = BiaffineParser.loss(s_arc, s_rel, heads, rels, mask)
    full_grads = torch.autograd.grad(full_loss, list(p.parameters()))
    s_arc2, rel_d, rel_h = p.encode(x, mask)
    at_gold = p.rel_at(rel_d, rel_h, heads)
    brute = torch.stack(
        [torch.stack([s_rel[b, i, heads[b, i].clamp(min=0)] for i in range(5)]) for b in range(3)])
    torch.testing.assert_close(at_gold, brute, rtol=1e-5, atol=1e-5)
    lazy_loss = BiaffineParser.loss(s_arc2, at_gold, heads, rels, mask)
    torch.testing.assert_close(lazy_loss, full_loss, rtol=1e-6, atol=1e-6)
    for g_full, g_lazy in zip(full_grads, torch.autograd.grad(lazy_loss, list(p.parameters()))):
        torch.testing.assert_close(g_lazy, g_full, rtol=1e-5, atol=1e-6)
    vocab = RelationVocab([f"r{k}" for k in range(4)])
    head = ParserHead(p, vocab)
    got_heads, got_rels = head.decode(p.encode(x, mask), {"mask": mask})
    ref_heads, ref_rels = p.decode(s_arc, s_rel, mask)
    assert torch.equal(got_heads, ref_heads) and torch.equal(got_rels, ref_rels)
