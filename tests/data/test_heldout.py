"""Continuous held-out scoring (melmo.data.heldout + melmo.pretrain.heldout_metric) against a one-stream loop
written independently here, on a hand-built prepared corpus."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from melmo.data.heldout import HeldoutDataset, HeldoutOptions
from melmo.data.prepared import PreparedCorpus
from melmo.model.chars import words_to_char_array
from melmo.tasks.perplexity import heldout_metrics

VOCAB_SIZE = 9  # <S> </S> <UNK> + 6 words; types 9.. are <UNK> for the softmax
TYPES = ["<S>", "</S>", "<UNK>", "a", "b", "c", "d", "e", "f", "rare1", "rare2", "rare3"]
SENTENCES = {  # type ids of each language's held-out sentences, in order
    "en": [[3, 4, 5], [6, 9, 3, 3, 7], [8], [4, 10, 5, 6], [3, 4, 5, 6, 7, 8, 3], [11, 11, 4]],
    "fi": [[5, 5], [7, 3, 9, 4, 4, 8], [6, 2, 3]],  # id 2: a type beyond max_types, also <UNK>
}
WARMUP = 4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("handmade")
    (d / "heldout").mkdir()
    (d / "types.txt").write_text("".join(t + "\n" for t in TYPES), encoding="utf-8")
    (d / "metadata.json").write_text(
        json.dumps({"languages": list(SENTENCES), "vocab_size": VOCAB_SIZE, "shards": []}))
    for i, (lang, sents) in enumerate(SENTENCES.items()):
        np.save(d / "heldout" / f"{lang}.tokens.npy", np.asarray([t for s in sents for t in s], "<u4"))
        np.save(d / "heldout" / f"{lang}.lengths.npy", np.asarray([len(s) for s in sents], "<u4"))
        np.save(d / "heldout" / f"{lang}.langs.npy", np.full(len(sents), i, "u1"))
    return PreparedCorpus(d, max_chars=50)


@pytest.fixture(scope="module")
def model():
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    encoder = instantiate(
        OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "model" / "elmo_tiny.yaml")).eval()
    P = encoder.options["lstm"]["projection_dim"]
    W, b = torch.randn(VOCAB_SIZE, P), torch.randn(VOCAB_SIZE)
    return encoder, W, b


def _streams(sents):
    """The forward and backward streams of one language, built token by token."""
    f_in, f_tg, b_in, b_tg = [], [], [], []
    for s in sents:
        f_in += ["<S>"] + [TYPES[t] for t in s]
        f_tg += [TYPES[t] for t in s] + ["</S>"]
    for s in reversed(sents):
        b_in += ["</S>"] + [TYPES[t] for t in reversed(s)]
        b_tg += [TYPES[t] for t in reversed(s)] + ["<S>"]
    return f_in, f_tg, b_in, b_tg


def _reference(model, sents, row_tokens=0):
    """(sum NLL, count) per direction and (all, iv), and the UNK count: each row run from a zero
    state in ONE lm_forward call, every target at stream position >= WARMUP scored once."""
    encoder, W, b = model
    f_in, f_tg, b_in, b_tg = _streams(sents)
    n = len(f_in)
    step = row_tokens or n
    vocab = TYPES[:VOCAB_SIZE]
    sums = {}
    with torch.no_grad():
        for d, ins, tgs in (("fwd", f_in, f_tg), ("bwd", b_in, b_tg)):
            tot = {"all": [0.0, 0], "iv": [0.0, 0]}
            for start in range(0, n, step):
                lo, stop = max(0, start - WARMUP), min(n, start + step)
                ids = np.asarray(words_to_char_array(ins[lo:stop], 50))
                chars = torch.as_tensor(ids, dtype=torch.long)[None]
                f_out, b_out, _ = encoder.lm_forward(chars, chars, None)  # the direction d's half is used
                out = f_out if d == "fwd" else b_out
                logp = torch.log_softmax(out[0].double() @ W.double().T + b.double(), -1)
                for j, pos in enumerate(range(lo, stop)):
                    if pos < max(start, WARMUP):
                        continue
                    word = tgs[pos]
                    cls = vocab.index(word) if word in vocab and word != "<UNK>" else 2
                    tot["all"][0] -= float(logp[j, cls])
                    tot["all"][1] += 1
                    if cls != 2:
                        tot["iv"][0] -= float(logp[j, cls])
                        tot["iv"][1] += 1
            sums[d] = tot
    return sums


def _ppl(ref, kind):
    return math.exp(0.5 * sum(ref[d][kind][0] / ref[d][kind][1] for d in ("fwd", "bwd")))


@pytest.mark.parametrize("row_tokens", [0, 7])
def test_continuous_score_equals_one_stream_loop(corpus, model, row_tokens):
    encoder, W, b = model
    opts = HeldoutOptions(row_tokens=row_tokens, warmup_tokens=WARMUP, batch_rows=3, unroll_steps=5)
    got = heldout_metrics(encoder, W, b, corpus, opts)
    pooled = {d: {k: [0.0, 0] for k in ("all", "iv")} for d in ("fwd", "bwd")}
    for lang, sents in SENTENCES.items():
        ref = _reference(model, sents, row_tokens)
        assert got[f"ppl_{lang}"] == pytest.approx(_ppl(ref, "all"), rel=1e-6, abs=0)
        assert got[f"ppl_iv_{lang}"] == pytest.approx(_ppl(ref, "iv"), rel=1e-6, abs=0)
        unk = sum(ref[d]["all"][1] - ref[d]["iv"][1] for d in ref) / sum(ref[d]["all"][1] for d in ref)
        assert got[f"unk_{lang}"] == pytest.approx(unk, rel=1e-6) and unk > 0
        for d in ref:
            for k in ref[d]:
                pooled[d][k][0] += ref[d][k][0]
                pooled[d][k][1] += ref[d][k][1]
    assert got["ppl"] == pytest.approx(_ppl(pooled, "all"), rel=1e-6)
    assert got["ppl_iv"] == pytest.approx(_ppl(pooled, "iv"), rel=1e-6)


def test_warmup_targets_are_not_scored_and_the_rest_once(corpus):
    for row_tokens in (0, 3, 7, 100):
        ds = HeldoutDataset(
            corpus, HeldoutOptions(row_tokens=row_tokens, warmup_tokens=WARMUP, batch_rows=2, unroll_steps=4))
        counts = {d: {li: 0 for li in range(len(SENTENCES))} for d in ("fwd", "bwd")}
        for batch in ds:
            for d, per_lang in counts.items():
                for r, li in enumerate(batch["lang"].tolist()):
                    per_lang[li] += int((batch[f"{d}_targets"][r] >= 0).sum())
        for li, sents in enumerate(SENTENCES.values()):
            n = sum(len(s) + 1 for s in sents)
            assert counts["fwd"][li] == counts["bwd"][li] == n - WARMUP, row_tokens
        assert len(ds) == sum(1 for _ in ds)


def test_rows_can_be_split_across_ranks(corpus):
    opts = HeldoutOptions(row_tokens=5, warmup_tokens=2, batch_rows=2, unroll_steps=3)
    whole = HeldoutDataset(corpus, opts).rows
    parts = [HeldoutDataset(corpus, opts, rank=r, world_size=3).rows for r in range(3)]
    assert sum(len(p) for p in parts) == len(whole)
    key = lambda r: (r.lang, tuple(r.fwd_ids), tuple(r.fwd_targets))  # noqa: E731
    assert sorted(key(r) for p in parts for r in p) == sorted(key(r) for r in whole)


def test_one_validation_loader_for_every_language(corpus):
    """One DataLoader (one progress bar per validation), its batches carrying each row's language."""
    from torch.utils.data import DataLoader

    from melmo.data.datamodule import LMDataModule

    dm = LMDataModule(corpus_dir=corpus.directory, heldout=HeldoutOptions(warmup_tokens=0, batch_rows=8))
    loader = dm.val_dataloader()
    assert isinstance(loader, DataLoader)
    langs = {li for batch in loader for li in batch["lang"].tolist()}
    assert langs == set(range(len(SENTENCES)))
