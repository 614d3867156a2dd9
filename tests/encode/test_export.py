"""melmo.pretrain.export: atomic model directory with bundled, hash-checked tokenizers that survive a copy."""

import hashlib
import json
import shutil
from types import SimpleNamespace

import pytest
import torch
from eval_helpers import ROOT, TINY_OPTIONS

from melmo.encode.model_dir import ModelDir, ModelDirError
from melmo.encode.tokenize import raw_tokenizer
from melmo.model.encoder import BiLM
from melmo.pretrain.export import ExportError, export

UDPIPE = ROOT / "data" / "udpipe"


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _module_corpus(tmp_path, langs=("en", "fi")):
    torch.manual_seed(0)
    enc = BiLM(TINY_OPTIONS["char_cnn"], TINY_OPTIONS["lstm"])
    vocab = ["<S>", "</S>", "<UNK>", "the", "a"]
    softmax = torch.nn.Linear(8, len(vocab))
    sources = {lang: {"udpipe_model": str(UDPIPE / f"{lang}.udpipe"),
                      "udpipe_model_sha256": _sha(UDPIPE / f"{lang}.udpipe"),
                      "tokenizer": {"multiword": "surface", "sentences": "udpipe", "builtin": None}}
               for lang in langs}
    sources["he"] = {"udpipe_model": None, "udpipe_model_sha256": None,
                     "tokenizer": "conllu FORM column (syntactic words)"}
    meta = {"languages": [*langs, "he"], "sampling": {"strategy": "alpha", "alpha": 0.4, "name": "alpha04"},
            "seed": 7, "sources": sources, "realised": {lang: {"tokens": 100} for lang in langs}}
    module = SimpleNamespace(encoder=enc, softmax=softmax, global_step=12)
    corpus = SimpleNamespace(vocab=vocab, metadata=meta, directory=tmp_path / "corpus")
    return module, corpus


def test_export_bundles_tokenizers_and_a_copy_keeps_them(tmp_path):
    module, corpus = _module_corpus(tmp_path)
    out = export(module, corpus, tmp_path / "run" / "model")
    meta = json.loads((out / "melmo.json").read_text())
    for lang in ("en", "fi"):
        entry = meta["tokenizers"][lang]
        assert (entry["path"] == f"tokenizers/{lang}.udpipe"
                and entry["sha256"] == _sha(UDPIPE / f"{lang}.udpipe"))
        assert (out / entry["path"]).read_bytes() == (UDPIPE / f"{lang}.udpipe").read_bytes()
    assert meta["tokenizers"]["he"]["path"] is None and meta["run"]["steps"] == 12
    assert sorted(p.name for p in out.iterdir()) == ["melmo.json", "options.json", "tokenizers", "vocab.txt",
                                                     "weights.hdf5"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]

    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(out, copy)
    m = ModelDir(copy)
    assert m.tokenizer_path("fi") == copy / "tokenizers" / "fi.udpipe"
    assert m.name == "alpha04-s7-" + _sha(copy / "weights.hdf5")[:8]
    tok = raw_tokenizer(m, "fi")
    assert (tok.kind == "udpipe"
            and tok.tokenize(["Hyvää huomenta, Helsinki."]) == [["Hyvää", "huomenta", ",", "Helsinki", "."]])
    # trained on CoNLL-U without the UDPipe models: never whitespace silently, only when chosen
    with pytest.raises(ModelDirError,
                       match=r"no tokenizer recorded for 'he'.*set encode\.raw_tokenizer\.kind=udpipe") as e:
        raw_tokenizer(m, "he")
    assert "\n" not in str(e.value)
    assert raw_tokenizer(m, "he", {"kind": "whitespace"}).describe() == {"kind": "whitespace"}

    # a different tokenizer, or none, is a one-line error naming the file
    (copy / "tokenizers" / "fi.udpipe").write_bytes((UDPIPE / "sv.udpipe").read_bytes())
    with pytest.raises(ModelDirError, match=r"fi\.udpipe: tokenizer for 'fi' differs .*sha256 mismatch") as e:
        raw_tokenizer(ModelDir(copy), "fi")
    assert "\n" not in str(e.value)
    (copy / "tokenizers" / "fi.udpipe").unlink()
    with pytest.raises(ModelDirError,
                       match=r"fi\.udpipe: tokenizer for 'fi' recorded in .*melmo.json is missing"):
        raw_tokenizer(ModelDir(copy), "fi")


def test_export_refuses_changed_tokenizer_and_leaves_nothing(tmp_path):
    module, corpus = _module_corpus(tmp_path)
    corpus.metadata["sources"]["fi"]["udpipe_model_sha256"] = "0" * 64
    with pytest.raises(ExportError,
                       match=r"fi\.udpipe: UDPipe model for 'fi' changed since the corpus was tokenized"):
        export(module, corpus, tmp_path / "run" / "model")
    assert list((tmp_path / "run").iterdir()) == []


def test_export_replaces_an_existing_model_whole(tmp_path, monkeypatch):
    module, corpus = _module_corpus(tmp_path)
    out = export(module, corpus, tmp_path / "run" / "model")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    import melmo.pretrain.export as ex

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ex, "bundle_tokenizers", boom)
    with torch.no_grad():
        module.encoder.token_encoder.char_embed.weight.add_(1.0)
    with pytest.raises(RuntimeError):
        export(module, corpus, out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # old model untouched
    assert [p.name for p in out.parent.iterdir()] == ["model"]
    monkeypatch.undo()
    export(module, corpus, out)
    assert ((out / "weights.hdf5").read_bytes() != before["weights.hdf5"]
            and (out / "tokenizers" / "en.udpipe").is_file())


def test_conllu_trained_export_bundles_the_given_udpipe_models(tmp_path):
    from omegaconf import OmegaConf

    module, corpus = _module_corpus(tmp_path)
    corpus.metadata["sources"]["he"]["format"] = ["conllu"]
    given = tmp_path / "conll17_udpipe"
    given.mkdir()
    shutil.copyfile(UDPIPE / "he.udpipe", given / "he.udpipe")
    cfg = OmegaConf.create({"data": {"conllu_udpipe_dir": str(given)}, "seed": 7,
                            "paths": {"output_dir": str(tmp_path / "run")}})
    out = export(module, corpus, tmp_path / "run" / "model", cfg)
    entry = json.loads((out / "melmo.json").read_text())["tokenizers"]["he"]
    assert entry["path"] == "tokenizers/he.udpipe" and entry["sha256"] == _sha(UDPIPE / "he.udpipe")
    assert entry["options"] == {"multiword": "split"} and str(given) in entry["source"]
    tok = raw_tokenizer(ModelDir(out), "he")
    assert tok.kind == "udpipe" and tok.describe()["udpipe_sha256"] == _sha(UDPIPE / "he.udpipe")
