"""Shared by the task=xnli tests."""

import pytest


@pytest.fixture
def tokenized(monkeypatch) -> dict[str, list[str]]:
    """language -> the raw lines the xnli task's tokenizers were given, in order (its raw_tokenizer wrapped
    for the test)."""
    import melmo.tasks.xnli.task as xnli_task

    seen: dict[str, list[str]] = {}
    real_tok = xnli_task.raw_tokenizer

    def spy_tok(model, lang, fallback=None):
        tok = real_tok(model, lang, fallback)
        orig = tok.tokenize
        tok.tokenize = lambda lines: seen.setdefault(lang, []).extend(lines) or orig(lines)
        return tok

    monkeypatch.setattr(xnli_task, "raw_tokenizer", spy_tok)
    return seen
