"""UDPipe tokenization with the tokenizers shipped in data/udpipe/ (no training except one tiny run)."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest

from melmo.corpus import udpipe as U
from melmo.corpus.udpipe import (
    InvalidModelError,
    ModelNotFoundError,
    OptionError,
    Tokenizer,
    TrainingError,
    load_model,
    resolve_model,
    score_tokenization,
    train_tokenizer,
)
from melmo.corpus.udpipe.tokenizer import _clean
from melmo.languages import PAPER_LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "data" / "udpipe"
SAMPLE = ROOT / "data" / "sample"


def model(lang: str) -> Path:
    return MODELS / f"{lang}.udpipe"


def sample_lines(lang: str, n: int = 40) -> list[str]:
    """The first ``n`` lines of the repository's real text sample (works on a fresh clone)."""
    with lzma.open(SAMPLE / "text" / f"{lang}.txt.xz", "rt", encoding="utf-8") as fh:
        return [line.strip() for _, line in zip(range(n), fh) if line.strip()]


def nonspace(text: str) -> str:
    return "".join(text.split())


# ------------------------------------------------------------------------------- shipped models
def test_every_paper_language_has_a_shipped_model_under_budget():
    sizes = {lang: model(lang).stat().st_size for lang in PAPER_LANGUAGES}
    assert all(s < 5 * 2**20 for s in sizes.values())
    assert sum(sizes.values()) < 2 * 2**20
    manifest = json.loads((MODELS / "models.json").read_text())
    recorded = {m["lang"]: m for m in manifest["models"]}
    assert set(recorded) == set(PAPER_LANGUAGES)
    for lang, rec in recorded.items():
        assert rec["bytes"] == sizes[lang], f"{lang}: models.json does not describe the shipped file"
        assert "test" not in (rec["heldout_file"] or "")
        if "test" in rec["train_file"]:  # ar/hi PUD: trained on a prefix, evaluated on the rest
            assert rec["train_sentences"] == "0:700" and rec["eval_sentences"] == "700:"


@pytest.mark.parametrize("lang", PAPER_LANGUAGES)
def test_real_text_tokens_reproduce_the_input(lang):
    lines = sample_lines(lang)
    # surface tokens spell the input (syntactic words need not)
    tok = Tokenizer(model(lang), multiword="surface")
    sents = list(tok.tokenize_lines(lines))
    tokens = [t for s in sents for t in s]
    assert len(sents) >= len(lines)  # each line gives one or more sentences
    assert all(t and not t.isspace() and not any(c.isspace() and c != "\u00a0" for c in t) for t in tokens)
    assert nonspace("".join(tokens)) == nonspace("".join(lines))


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_cjk_text_without_spaces_is_split(lang):
    lines = [line for line in sample_lines(lang, 200) if " " not in line and len(line) >= 12][:20]
    assert len(lines) >= 10
    tok = Tokenizer(model(lang), sentences="line")
    for line in lines:
        (tokens,) = tok.tokenize(line)
        assert len(tokens) >= 4, (line, tokens)
        assert "".join(tokens) == line
    # the sentence-final full stop is its own token
    text = "收拾好哥哥的物品再拿去他的新家。" if lang == "zh" else "私は東京大学の学生です。"
    assert Tokenizer(model(lang)).tokenize(text)[0][-1] == "。"


def test_english_follows_ud_ewt_conventions():
    text = "I don't think so. He can't come, can he?"
    surface = Tokenizer(model("en"), multiword="surface").tokenize(text)
    split = Tokenizer(model("en")).tokenize(text)  # the default: syntactic words
    assert surface == [["I", "don't", "think", "so", "."], ["He", "can't", "come", ",", "can", "he", "?"]]
    assert split == [["I", "do", "n't", "think", "so", "."],
                     ["He", "ca", "n't", "come", ",", "can", "he", "?"]]


@pytest.mark.parametrize("lang,text,surface,words", [
    ("it", "Il libro della ragazza è sul tavolo.", "della", ["di", "la"]),
    ("he", "הבית של הילד נמצא בעיר.", "הבית", ["ה", "בית"]),
    ("en", "I don't know.", "don't", ["do", "n't"]),
])
def test_multiword_surface_vs_split(lang, text, surface, words):
    (s,) = Tokenizer(model(lang), multiword="surface").tokenize(text)
    (w,) = Tokenizer(model(lang), multiword="split").tokenize(text)
    assert surface in s and surface not in w
    i = w.index(words[0])
    assert w[i : i + len(words)] == words
    assert len(w) > len(s)


def test_arabic_clitics_and_punctuation_are_tokens():
    # Arabic PUD writes clitic prepositions/conjunctions as separate surface tokens (no multiword ranges)
    line = sample_lines("ar", 1)[0]
    tokens = [t for s in Tokenizer(model("ar")).tokenize(line) for t in s]
    assert {"ب", "ل"} & set(tokens), tokens
    assert line.endswith('."') and tokens[-2:] == [".", '"'] and ":" in tokens


def test_russian_and_hindi_punctuation():
    (ru,) = Tokenizer(model("ru")).tokenize("Мы пошли домой, а он остался.")
    assert ru == ["Мы", "пошли", "домой", ",", "а", "он", "остался", "."]
    hi = [t for s in Tokenizer(model("hi")).tokenize("यह एक अच्छा दिन है। हम घर जा रहे हैं।") for t in s]
    assert hi.count("।") == 2 and "अच्छा" in hi


def test_sentence_modes():
    line = "This is one sentence. This is another one! And a third?"
    assert len(Tokenizer(model("en")).tokenize(line)) == 3
    tok = Tokenizer(model("en"), sentences="line")
    assert list(tok.tokenize_lines([line, "", "Second line."])) == [
        ["This", "is", "one", "sentence", ".", "This", "is", "another", "one", "!", "And", "a", "third", "?"],
        ["Second", "line", "."],
    ]
    # by default a sentence never runs across two input lines
    lines = ["the end of one line without a stop", "next line"]
    assert list(Tokenizer(model("en")).tokenize_lines(lines)) == [
        ["the", "end", "of", "one", "line", "without", "a", "stop"], ["next", "line"]]


def test_inner_whitespace_convention():
    # Finnish TDT has tokens with spaces ("10 000"), so its model is trained with allow_spaces=1
    (fi,) = Tokenizer(model("fi")).tokenize("Hinta oli 10 000 euroa.")
    assert fi == ["Hinta", "oli", "10\u00a0000", "euroa", "."]
    assert _clean("1 000") == "1\u00a0000"
    assert _clean(" a \t b ") == "a\u00a0b"
    assert _clean("   ") == "" and _clean("\u00a0") == ""


def test_info_records_the_tokenization():
    info = Tokenizer(model("it"), multiword="split").info
    assert info["multiword"] == "split" and info["sentences"] == "udpipe"
    assert info["udpipe_model"].endswith("it.udpipe") and info["builtin"] is None


def test_score_on_held_out_gold():
    sc = score_tokenization(model("en"), SAMPLE / "ud" / "en" / "en_ewt-ud-test.conllu.xz",
                            sentences=slice(0, 300))
    assert sc["sentences"] == 300 and sc["f1"] > 0.95


# ------------------------------------------------------------------------------ model-free fallbacks
def test_builtins_only_when_named():
    with pytest.raises(ValueError, match="builtin='generic_tokenizer'"):
        Tokenizer(None)
    with pytest.raises(ValueError, match="not both"):
        Tokenizer(model("en"), builtin="generic_tokenizer")
    with pytest.raises(ValueError, match="sentences='line'"):
        Tokenizer(builtin="horizontal")
    assert Tokenizer(builtin="generic_tokenizer").tokenize("Hello, world. Bye.") == [
        ["Hello", ",", "world", "."], ["Bye", "."]]
    assert Tokenizer(builtin="horizontal", sentences="line").tokenize("a b,c\nd") == [["a", "b,c"], ["d"]]


# ----------------------------------------------------------------------------------------- errors
def test_missing_and_invalid_model_errors(tmp_path):
    missing = tmp_path / "xx.udpipe"
    with pytest.raises(ModelNotFoundError, match=r"xx\.udpipe: UDPipe model file not found"):
        load_model(missing)
    with pytest.raises(FileNotFoundError):  # ModelNotFoundError is a FileNotFoundError
        Tokenizer(missing)
    bad = tmp_path / "bad.udpipe"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(InvalidModelError, match=r"bad\.udpipe: not a UDPipe model"):
        load_model(bad)


def test_resolve_model(tmp_path):
    assert resolve_model("FI", None, MODELS) == model("fi")
    official = tmp_path / "english-ewt-ud-2.5-191206.udpipe"
    official.write_bytes(model("en").read_bytes())
    assert resolve_model("en", {"en": str(official)}, MODELS) == official
    with pytest.raises(ModelNotFoundError, match=r"ko\.udpipe: UDPipe model for language 'ko' not found.*"
                                                 r"python -m melmo.corpus.udpipe train --lang ko"):
        resolve_model("ko", {}, tmp_path)
    with pytest.raises(ModelNotFoundError, match=r"nope\.udpipe.*'en'.*configured"):
        resolve_model("en", {"en": str(tmp_path / "nope.udpipe")}, MODELS)


def test_model_cache_is_per_path():
    assert load_model(model("sv")) is load_model(str(model("sv")))


@pytest.mark.parametrize("options,match", [
    ({"epoch": 1}, r"unknown UDPipe tokenizer option 'epoch' \(did you mean epochs\?\)"),
    ({"dimension": 32}, r"dimension=32.*16, 24, 64"),
    ({"segment_size": 5}, r"segment_size=5.*>= 10"),
    ({"dropout": 1.5}, r"dropout"),
])
def test_bad_training_options_raise_before_training(tmp_path, options, match):
    with pytest.raises(OptionError, match=match):
        train_tokenizer([tmp_path / "never-read.conllu"], tmp_path / "m.udpipe", options=options)
    assert not (tmp_path / "m.udpipe").exists()


def test_test_file_is_never_heldout(tmp_path):
    with pytest.raises(ValueError, match="test file cannot be heldout"):
        train_tokenizer([SAMPLE / "ud" / "en" / "en_ewt-ud-dev.conllu.xz"], tmp_path / "m.udpipe",
                        heldout_paths=[SAMPLE / "ud" / "en" / "en_ewt-ud-test.conllu.xz"])


def test_cli_reports_bad_option(tmp_path, capsys):
    rc = U.main(["train", "--lang", "fi", "--conllu", str(tmp_path / "x.conllu"), "--out",
                 str(tmp_path / "m.udpipe"), "--option", "epoch=1"])
    assert rc == 1 and "unknown UDPipe tokenizer option 'epoch'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- tiny training
def _tiny_conllu() -> str:
    rows = []
    for k in range(30):
        rows += [
            f"# sent_id = {k}", "# text = I don't know, Ann.",
            "1\tI\tI\tPRON\t_\t_\t3\tnsubj\t_\t_",
            "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
            "2\tdo\tdo\tAUX\t_\t_\t4\taux\t_\t_",
            "3\tn't\tnot\tPART\t_\t_\t4\tadvmod\t_\t_",
            "4\tknow\tknow\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No",
            "5\t,\t,\tPUNCT\t_\t_\t6\tpunct\t_\t_",
            "6\tAnn\tAnn\tPROPN\t_\t_\t4\tvocative\t_\tSpaceAfter=No",
            "7\t.\t.\tPUNCT\t_\t_\t4\tpunct\t_\t_",
            "",
        ]
    return "\n".join(rows) + "\n"


def test_tiny_training_run(tmp_path):
    conllu = tmp_path / "tiny-ud-train.conllu"
    conllu.write_text(_tiny_conllu(), encoding="utf-8")
    out = tmp_path / "models" / "tiny.udpipe"
    log = tmp_path / "train.log"
    train_tokenizer([conllu], out, options={"epochs": 1, "dimension": 16}, log_path=log)
    assert "epochs=1" in log.read_text() and "dimension=16" in log.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["tiny.udpipe"]  # no temporary left behind
    tok = Tokenizer(out, multiword="split")
    tokens = [t for s in tok.tokenize("I don't know, Ann.") for t in s]
    assert nonspace("".join(tokens)) == "Idon'tknow,Ann."


def test_training_failure_carries_udpipe_message(tmp_path):
    conllu = tmp_path / "tiny-ud-train.conllu"
    conllu.write_text(_tiny_conllu(), encoding="utf-8")
    out = tmp_path / "m.udpipe"
    with pytest.raises(TrainingError, match="Cannot load model from which the tokenizer should be used"):
        train_tokenizer([conllu], out, options={"from_model": str(tmp_path / "absent.udpipe")})
    assert list(tmp_path.iterdir()) == [conllu]
