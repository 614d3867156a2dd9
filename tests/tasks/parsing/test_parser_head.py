"""The HeadModule adapter of the parser: held-out UAS/LAS of decoded trees (subtypes stripped,
unseen relations wrong) and token-sized batches."""

import torch

from melmo.tasks.common.features import IGNORE
from melmo.tasks.parsing.parser import BiaffineParser
from melmo.tasks.parsing.task import ParserHead
from melmo.tasks.parsing.vocab import RelationVocab


def test_metrics_strip_subtypes_and_count_unseen_wrong():
    vocab = RelationVocab(["root", "nsubj", "nsubj:pass", "obj"])
    parser = BiaffineParser(4, len(vocab), 4, 1, 0, 0, 4, 4, 0)
    with torch.no_grad():  # relation o's score = rel_d[o] (dependent side times the head side's bias)
        parser.rel_attn.weight.zero_()
        parser.rel_attn.weight[torch.arange(4), torch.arange(4), 4] = 1.0
    head = ParserHead(parser, vocab, monitor="uas")
    # one sentence of 4 words; scores make the predicted tree 2 0 2 2 and relations nsubj:pass root obj obj
    pred_heads, pred_rels = [2, 0, 2, 2], [2, 0, 3, 3]
    s_arc = torch.full((1, 4, 5), -5.0)
    rel_d, rel_h = torch.zeros(1, 4, 4), torch.randn(1, 5, 4)
    for i, (h, r) in enumerate(zip(pred_heads, pred_rels)):
        s_arc[0, i, h] = 5.0
        rel_d[0, i, r] = 5.0
    gold_heads = torch.tensor([[2, 0, 2, 1]])  # word 4 wrong head
    # nsubj vs predicted nsubj:pass: right; word 3 unseen: wrong
    gold_rels = torch.tensor([[1, 0, IGNORE, 3]])
    batch = {"mask": torch.ones(1, 4, dtype=torch.bool), "heads": gold_heads, "rels": gold_rels}
    metrics = head.make_metrics()
    assert list(metrics) == ["uas", "las"]  # the monitored one first
    head.update_metrics(metrics, (s_arc, rel_d, rel_h), batch)
    assert metrics["uas"].compute().item() == 3 / 4
    assert metrics["las"].compute().item() == 2 / 4
    out = head.predict((s_arc, rel_d, rel_h), batch)
    assert out[0, :, 0].tolist() == pred_heads and out[0, :, 1].tolist() == pred_rels
