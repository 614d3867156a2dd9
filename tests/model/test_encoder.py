"""BiLM inference against the literal numpy reference (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP
elmo_indexer.py ELMoCharacterMapper): every layer, per-row state, variable lengths, and the §9 gotchas that do
not need the upstream fixtures."""

import numpy as np
import pytest
import torch
from bilm_helpers import (  # noqa: F401 (single_thread: autouse fixture)
    SMALL_OPTIONS,
    WORDS,
    options_with,
    random_model,
    random_sentences,
    single_thread,
)
from elmo_reference import ReferenceBiLM, token_layer

from melmo.model.chars import batch_to_ids, bos_char_ids, eos_char_ids
from melmo.model.encoder import BiLM
from melmo.model.io import load_bilm_tf_arrays
from melmo.model.lstm import TF_TO_RUNTIME

ATOL = 1e-5  # float32 model vs float64 reference, error relative to 1 + |value| (measured ~1e-6)

# (name, options): residual and plain stacks, tanh CNN, F == P (no CNN_proj), H == P (no W_P_0)
VARIANTS = {
    "residual": SMALL_OPTIONS,
    "no_skip": options_with(lstm__use_skip_connections=False),
    "tanh_1_highway_3_layers": options_with(char_cnn__activation="tanh", char_cnn__n_highway=1,
                                            lstm__n_layers=3),
    "F_eq_P": options_with(char_cnn__filters=[[1, 2], [2, 6]]),
    "H_eq_P": options_with(lstm__dim=8),
}
# Batches of changing size, with an empty sentence and a long token: rows persist by index.
STREAM = [random_sentences(3, 1), random_sentences(2, 2), random_sentences(4, 3) + [[]],
          random_sentences(3, 4)]


def run_stream(encoder, stream, reset=False):
    outs, state = [], None
    with torch.no_grad():
        for batch in stream:
            out = encoder(batch_to_ids(batch), None if reset else state)
            outs.append(out)
            state = out.state
    return outs


def max_error(outs, ref_outs, stream):
    """Max over every layer of every sentence of |diff| / (1 + |expected|)."""
    err = 0.0
    for out, ref, batch in zip(outs, ref_outs, stream):
        for k, words in enumerate(batch):
            for layer, expected in zip(out.layers, ref[k]):
                diff = np.abs(layer[k, : len(words)].numpy() - expected) / (1 + np.abs(expected))
                err = max(err, float(diff.max(initial=0)))
    return err


@pytest.mark.parametrize("name", list(VARIANTS))
def test_all_layers_and_states_match_reference(name):
    options = VARIANTS[name]
    encoder, arrays = random_model(options, seed=len(name))
    ref = ReferenceBiLM(arrays, options)
    outs = run_stream(encoder, STREAM)
    ref_outs = [ref.run(batch) for batch in STREAM]
    assert max_error(outs, ref_outs, STREAM) < ATOL
    # final per-row states: forward after EOS, backward after BOS (bilm-tf bilm/model.py _build_lstms; TF1
    # LSTMCell(num_proj))
    c, h = outs[-1].state
    assert c.shape[2] == 5  # the largest batch seen
    for row, st in ref.state.items():
        for (d, l), (rc, rh) in st.items():
            np.testing.assert_allclose(c[d, l, row].numpy(), rc, atol=ATOL)
            np.testing.assert_allclose(h[d, l, row].numpy(), rh, atol=ATOL)
    # negative control: resetting the state before every batch must break the agreement (§9.5)
    assert max_error(run_stream(encoder, STREAM, reset=True), ref_outs, STREAM) > 1e-2


def test_clipping_triggers_in_the_test_model():
    """Gotcha §9.4: the reference without clipping differs, so the test above does test clipping."""
    encoder, arrays = random_model()
    for key in ("cell_clip", "proj_clip"):
        unclipped = options_with(**{f"lstm__{key}": None})
        a = ReferenceBiLM(arrays, SMALL_OPTIONS).run(STREAM[0])
        b = ReferenceBiLM(arrays, unclipped).run(STREAM[0])
        assert max(np.abs(x[-1] - y[-1]).max(initial=0) for x, y in zip(a, b)) > 1e-2


def _permute_tf_blocks(w, order):
    blocks = np.split(w, 4, axis=-1)
    return np.concatenate([blocks[k] for k in order], axis=-1)


def _swap_carry(name):
    if "carry" in name:
        return name.replace("carry", "transform")
    return name.replace("transform", "carry")


MUTATIONS = {
    # §9.1: W_0/B read as PyTorch's (i, f, g, o) instead of TF's (i, j, f, o)
    "gate_order": lambda a: {k: (_permute_tf_blocks(v, (0, 2, 1, 3)) if k.endswith(("W_0", "/B")) else v)
                             for k, v in a.items()},
    # §9.2: forget bias added twice
    "forget_bias": lambda a: {k: (v + np.repeat(np.eye(4, dtype=np.float32)[2], v.shape[0] // 4)
                                  if k.endswith("/B") else v) for k, v in a.items()},
    # §9.3: W_carry taken as the transform (and vice versa)
    "highway_swap": lambda a: {k: a[_swap_carry(k)] for k in a},
    # §9.14: x·W orientation ignored (a square highway matrix read transposed)
    "orientation": lambda a: {**a, "CNN_high_0/W_transform": a["CNN_high_0/W_transform"].T.copy()},
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_reference_comparison_detects_layout_mistakes(mutation):
    """The reference comparison is sensitive to each layout mistake of §9 (negative controls)."""
    encoder, arrays = random_model()
    load_bilm_tf_arrays(encoder, MUTATIONS[mutation](arrays))
    ref_outs = [ReferenceBiLM(arrays, SMALL_OPTIONS).run(b) for b in STREAM]
    assert max_error(run_stream(encoder, STREAM), ref_outs, STREAM) > 1e-2


def test_runtime_gate_order_constants():
    assert TF_TO_RUNTIME == (0, 2, 3, 1)  # run time (i, f, o, j) from TF (i, j, f, o)


def test_padding_and_backward_direction_use_only_the_valid_part():
    """§9.10: a sentence gives the same vectors alone or next to longer ones (fresh states)."""
    encoder, _ = random_model()
    batch = [["a", "b"], ["the", "cat", "sat", "on", "the", "mat", "."], []]
    with torch.no_grad():
        together = encoder(batch_to_ids(batch))
        for k, words in enumerate(batch):
            alone = encoder(batch_to_ids([words]))
            for a, b in zip(together.layers, alone.layers):
                torch.testing.assert_close(a[k, : len(words)], b[0, : len(words)], atol=1e-6, rtol=0)
            for s_all, s_one in zip(together.state, alone.state):
                torch.testing.assert_close(s_all[:, :, k], s_one[:, :, 0], atol=1e-6, rtol=0)
    assert together.mask.tolist() == [[True, True] + [False] * 5, [True] * 7, [False] * 7]
    for layer in together.layers:  # zeros at padding positions
        assert layer.shape == (3, 7, 16)
        assert (layer[~together.mask] == 0).all()


def test_empty_sentences_still_run_boundaries():
    encoder, _ = random_model()
    with torch.no_grad():
        out = encoder(batch_to_ids([[], []]))
    assert out.mask.shape == (2, 0) and all(layer.shape == (2, 0, 16) for layer in out.layers)
    assert all((s.abs() > 0).all() for s in out.state)  # <S> </S> went through the LSTMs


def test_layer0_is_token_layer_duplicated_and_literals_are_markers():
    """§9.12 layer 0 = [z, z]; §9.8 a literal <S> token is the BOS vector; §9.9 no extra BOS/EOS."""
    encoder, arrays = random_model()
    batch = [["the", "<S>", "cat", "</S>"], ["a"]]
    with torch.no_grad():
        out = encoder(batch_to_ids(batch))
        te = encoder.token_encoder  # straight through the CNN, no de-duplication
        z = te(batch_to_ids(batch)) * (batch_to_ids(batch) > 0).any(-1, keepdim=True)  # zeros at padding
        bos = te(torch.tensor([bos_char_ids()]))[0]
        eos = te(torch.tensor([eos_char_ids()]))[0]
    assert out.layers[0].shape == (2, 4, 16)
    torch.testing.assert_close(out.layers[0], torch.cat([z, z], -1))
    torch.testing.assert_close(z[0, 1], bos, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(z[0, 3], eos, atol=1e-5, rtol=1e-5)
    assert out.mask.sum(1).tolist() == [4, 1]
    expected = token_layer(arrays, SMALL_OPTIONS, batch[0])
    np.testing.assert_allclose(z[0].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_in_token_padding_char_is_used():
    """§9.6: the CNN sees all C positions; the padding char (id 261) has its own embedding."""
    encoder, _ = random_model()
    ids = batch_to_ids([["a"]])
    with torch.no_grad():
        before = encoder.token_encoder(ids)
        encoder.token_encoder.char_embed.weight[261] += 1.0
        after = encoder.token_encoder(ids)
    assert (before - after).abs().max() > 1e-3


def test_deduplicated_token_layer_equals_direct_cnn():
    encoder, _ = random_model()
    words = WORDS * 7  # > CPU chunk size, many repeats
    ids = batch_to_ids([words])
    with torch.no_grad():
        direct = encoder.token_encoder(ids)
        # the token layer forward computes, once per spelling
        deduplicated = encoder(ids).layers[0][..., : direct.shape[-1]]
        torch.testing.assert_close(deduplicated, direct, atol=1e-6, rtol=0)
        # chunked and unchunked CNN agree
        torch.testing.assert_close(encoder.token_encoder(ids[0, :3]), direct[0, :3], atol=1e-6, rtol=0)


# -- state bookkeeping (bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj), §11.6)
# ---------------------------------------

def test_rows_beyond_the_batch_keep_their_state():
    encoder, _ = random_model()
    with torch.no_grad():
        state = encoder.zero_state(4)  # bilm-tf max_batch_size 4
        for batch in (random_sentences(3, 7), random_sentences(3, 8)):
            state = encoder(batch_to_ids(batch), state).state
        assert all(s.shape[2] == 4 for s in state)
        assert all((s[:, :, 3] == 0).all() for s in state)  # a row never used stays zero
        assert all((s[:, :, 2] != 0).any() for s in state)
        after = encoder(batch_to_ids(random_sentences(2, 9)), state).state
    for old, new in zip(state, after):
        assert torch.equal(new[:, :, 2:], old[:, :, 2:])  # rows 2, 3 returned unchanged
        assert not torch.equal(new[:, :, :2], old[:, :, :2])


def test_new_rows_start_from_zeros():
    encoder, _ = random_model()
    first, second = random_sentences(2, 10), random_sentences(3, 11, max_len=6)
    second[2] = ["the", "cat"]
    with torch.no_grad():
        state = encoder(batch_to_ids(first)).state
        grown = encoder(batch_to_ids(second), state)
        fresh = encoder(batch_to_ids([second[2]]))
        explicit = encoder(batch_to_ids(first), encoder.zero_state(2))
    assert all(s.shape[2] == 3 for s in grown.state)
    for a, b in zip(grown.layers, fresh.layers):
        torch.testing.assert_close(a[2, :2], b[0], atol=1e-6, rtol=0)
    for a, b in zip(state, explicit.state):  # state=None is the zero state
        assert torch.equal(a, b)


def test_state_is_carried_and_order_matters():
    encoder, _ = random_model()
    a, b = random_sentences(3, 12), random_sentences(3, 13)
    with torch.no_grad():
        cold = encoder(batch_to_ids(b))
        warm = encoder(batch_to_ids(b), encoder(batch_to_ids(a)).state)
    assert (cold.layers[-1] - warm.layers[-1]).abs().max() > 1e-3


def test_bad_inputs_give_clear_errors():
    encoder, _ = random_model()
    with pytest.raises(ValueError, match=r"\(batch, tokens, 50\)"):
        encoder(torch.ones(2, 3, 49, dtype=torch.long))
    ids = batch_to_ids([["a", "b"]])
    ids[0, 0] = 0
    with pytest.raises(ValueError, match="padding rows"):
        encoder(ids)
    with pytest.raises(ValueError, match="0..261"):
        encoder(torch.full((1, 2, 50), 262))
    with pytest.raises(ValueError, match="state shapes"):
        encoder(batch_to_ids([["a"]]), (torch.zeros(2, 2, 1, 5), torch.zeros(2, 2, 1, 8)))
    with pytest.raises(ValueError, match="activation"):
        BiLM(options_with(char_cnn__activation="gelu")["char_cnn"], SMALL_OPTIONS["lstm"])
    with pytest.raises(ValueError, match="missing"):
        BiLM({"filters": [[1, 2]]}, SMALL_OPTIONS["lstm"])


def test_max_characters_per_token_comes_from_options():
    """§9.16: C is read from the options (bilm-tf smoke test trains with C = 10)."""
    options = options_with(char_cnn__max_characters_per_token=10)
    encoder, arrays = random_model(options)
    batch = [["the", "extraordinarily", "<S>"]]
    with torch.no_grad():
        out = encoder(batch_to_ids(batch, max_chars=10))
    ref = ReferenceBiLM(arrays, options).run(batch)
    np.testing.assert_allclose(out.layers[-1][0].numpy(), ref[0][-1], rtol=ATOL, atol=ATOL)
    with pytest.raises(ValueError, match="10"):
        encoder(batch_to_ids(batch))
