"""The parsing pieces together on a real treebank slice: read, encode labels, train a few steps on
stand-in features, decode trees, write CoNLL-U, score; and no GPL package inside melmo/."""

import lzma
from pathlib import Path

import torch

from melmo.formats.conllu import read_conllu, write_conllu
from melmo.tasks.parsing import conllu_scores
from melmo.tasks.parsing.parser import BiaffineParser
from melmo.tasks.parsing.vocab import RelationVocab

ROOT = Path(__file__).resolve().parents[3]
DEV = ROOT / "data" / "sample" / "ud" / "en" / "en_ewt-ud-dev.conllu.xz"


def test_train_decode_write_score(tmp_path):
    text = lzma.decompress(DEV.read_bytes()).decode()
    gold = tmp_path / "gold.conllu"
    gold.write_text("\n\n".join(text.split("\n\n")[:24]).rstrip("\n") + "\n\n", encoding="utf-8")
    sents = read_conllu(gold, check_trees=True)
    vocab = RelationVocab.build(s.deprels for s in sents[:16])  # the last 8 may hold unseen relations
    t = max(len(s.forms) for s in sents)
    g = torch.Generator().manual_seed(0)
    table = {}
    x = torch.zeros(len(sents), t, 16)
    for b, s in enumerate(sents):  # stand-in features: a fixed random vector per word form
        for w, form in enumerate(s.forms):
            x[b, w] = table.setdefault(form.lower(), torch.randn(16, generator=g))
    mask = torch.zeros(len(sents), t, dtype=torch.bool)
    heads = torch.zeros(len(sents), t, dtype=torch.long)
    rels = torch.zeros(len(sents), t, dtype=torch.long)
    for b, s in enumerate(sents):
        n = len(s.forms)
        mask[b, :n] = True
        heads[b, :n] = torch.tensor(s.heads)
        rels[b, :n] = torch.tensor(vocab.encode(s.deprels))
    torch.manual_seed(0)
    parser = BiaffineParser(16, len(vocab), n_lstm_hidden=32, n_lstm_layers=1, n_arc_mlp=32, n_rel_mlp=16)
    opt = torch.optim.Adam(parser.parameters(), lr=2e-3, betas=(0.9, 0.9))
    for _ in range(3):
        opt.zero_grad()
        parser.loss(*parser(x[:16], mask[:16]), heads[:16], rels[:16], mask[:16]).backward()
        opt.step()
    parser.eval()
    ph, pr = parser.decode(*parser(x, mask), mask)
    pred_heads = [ph[b, : len(s.forms)].tolist() for b, s in enumerate(sents)]
    pred_rels = [vocab.decode(pr[b, : len(s.forms)].tolist()) for b, s in enumerate(sents)]
    out = tmp_path / "pred" / "en.conllu"
    write_conllu(out, read_conllu(gold, check_upos=False), pred_heads, pred_rels)
    scores = conllu_scores(gold, out)  # also checks that every predicted tree is well formed
    n = sum(len(s.forms) for s in sents)
    uas = sum(h == g for s, hs in zip(sents, pred_heads) for h, g in zip(hs, s.heads)) / n
    assert scores["uas"] == uas and 0 <= scores["las"] <= scores["uas"] and scores["upos"] == 1.0


def test_package_never_imports_gpl_oracles():
    """ufal.chu_liu_edmonds (GPL-3) and udtools (GPL-2+) are test and benchmark dependencies only."""
    for path in (ROOT / "melmo").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith(("import ", "from ")):
                assert "ufal.chu_liu" not in line and "udtools" not in line, f"{path}: {line}"
