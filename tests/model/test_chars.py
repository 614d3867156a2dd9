"""Character ids (melmo.model.chars) against bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP
elmo_indexer.py ELMoCharacterMapper and the upstream id tests (§10-11.1)."""

import numpy as np
import pytest
import torch

from melmo.model.chars import (
    BOS_CHAR,
    BOW_CHAR,
    EOS_CHAR,
    EOW_CHAR,
    N_CHARACTERS,
    PAD_CHAR,
    batch_to_ids,
    bos_char_ids,
    count_truncated,
    eos_char_ids,
    is_truncated,
    word_to_char_ids,
    words_to_char_array,
)


def test_constants():
    assert (BOS_CHAR, EOS_CHAR, BOW_CHAR, EOW_CHAR, PAD_CHAR) == (256, 257, 258, 259, 260)
    assert N_CHARACTERS == 262


def test_exact_rows_from_the_spec():
    # bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py ELMoCharacterMapper (the AllenNLP
    # elmo_indexer_test rows)
    assert word_to_char_ids(chr(256) + "t") == [259, 197, 129, 117, 260] + [261] * 45
    assert word_to_char_ids("Second") == [259, 84, 102, 100, 112, 111, 101, 260] + [261] * 42
    assert bos_char_ids() == [259, 257, 260] + [261] * 47
    assert eos_char_ids() == [259, 258, 260] + [261] * 47
    assert word_to_char_ids(".") == [259, 47, 260] + [261] * 47
    assert word_to_char_ids("") == [259, 260] + [261] * 48  # the empty string is a real token


def test_boundary_literals_map_to_sentence_markers():
    assert word_to_char_ids("<S>") == bos_char_ids()
    assert word_to_char_ids("</S>") == eos_char_ids()
    arr = words_to_char_array(["<S>", "x", "</S>", "<S>x"])
    assert arr[0].tolist() == bos_char_ids() and arr[2].tolist() == eos_char_ids()
    assert arr[3].tolist() == word_to_char_ids("<S>x")  # only the exact literal is special
    assert arr[3, 1] == ord("<") + 1


def test_bilm_tf_max_length_5():
    # bilm-tf tests/test_data.py with max_characters_per_token 5 (raw ids there, +1 here)
    plus1 = lambda raw: [r + 1 for r in raw]  # noqa: E731
    assert word_to_char_ids("th", 5) == plus1([258, 116, 104, 259, 260])
    assert word_to_char_ids("thhhhh", 5) == plus1([258, 116, 104, 104, 259])
    assert word_to_char_ids(chr(256) + "t", 5) == plus1([258, 196, 128, 116, 259])
    assert word_to_char_ids("<S>", 5) == plus1([258, 256, 259, 260, 260])
    assert words_to_char_array(["th", "thhhhh", "<S>", "</S>"], 5).tolist() == [
        word_to_char_ids(w, 5) for w in ["th", "thhhhh", "<S>", "</S>"]]


def test_truncation_is_bytewise_to_48():
    word = "a" * 47 + "é" + "b"  # 'é' is 2 bytes: the cut falls inside it
    ids = word_to_char_ids(word)
    assert len(ids) == 50
    assert ids[1:48] == [ord("a") + 1] * 47
    assert ids[48] == 0xC3 + 1  # first byte of 'é' kept, second byte cut
    assert ids[49] == EOW_CHAR + 1
    assert is_truncated(word) and not is_truncated("a" * 48) and is_truncated("a" * 49)
    assert is_truncated("я" * 25) and not is_truncated("я" * 24)  # Cyrillic: 2 bytes a letter
    assert not is_truncated("<S>", 4) and count_truncated(["a" * 60, "b", "c" * 49, "d" * 48]) == 2


def test_unencodable_characters_are_dropped():
    assert word_to_char_ids("a\ud800b") == word_to_char_ids("ab")  # lone surrogate
    assert words_to_char_array(["a\ud800b"])[0].tolist() == word_to_char_ids("ab")


def test_vectorised_table_equals_per_word():
    words = ["the", "", "Ünïcödé", "日本語", "x" * 70, "é" * 30, "<S>", "</S>", "<UNK>", "a\ud800",
             "\t"]
    arr = words_to_char_array(words)
    assert arr.shape == (len(words), 50) and arr.dtype == np.int16
    assert arr.tolist() == [word_to_char_ids(w) for w in words]
    assert words_to_char_array([]).shape == (0, 50)
    assert words_to_char_array(words, 12).tolist() == [word_to_char_ids(w, 12) for w in words]
    with pytest.raises(ValueError, match="max_chars"):
        words_to_char_array(["a"], 2)


def test_batch_to_ids_shape_and_padding():
    ids = batch_to_ids([["The", "first", "sentence"], ["Second", "."]])
    assert ids.dtype == torch.long and ids.shape == (2, 3, 50)
    assert ids[1, 0].tolist() == word_to_char_ids("Second")
    assert ids[1, 1].tolist() == word_to_char_ids(".")
    assert (ids[1, 2] == 0).all()  # padding position: a row of zeros
    assert ((ids > 0).any(-1) == torch.tensor([[True, True, True], [True, True, False]])).all()
    # no BOS/EOS added (AllenNLP convention, bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP
    # elmo_indexer.py ELMoCharacterMapper; AllenNLP _ElmoCharacterEncoder adds BOS/EOS)
    assert ids[0, 0].tolist() == word_to_char_ids("The")
    assert batch_to_ids([[], []]).shape == (2, 0, 50)
    assert batch_to_ids([["a"], []]).shape == (2, 1, 50)
    assert batch_to_ids([["abc"]], max_chars=10).shape == (1, 1, 10)
