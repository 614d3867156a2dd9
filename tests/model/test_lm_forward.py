"""BiLM.lm_forward, the training API (bilm-tf conventions, bilm-tf bilm/training.py LanguageModel, train)."""

import numpy as np
import pytest
import torch
from bilm_helpers import (  # noqa: F401 (single_thread: autouse fixture)
    SMALL_OPTIONS,
    WORDS,
    options_with,
    random_model,
    single_thread,
)
from elmo_reference import ReferenceBiLM, token_layer

from melmo.model import lstm as lstm_module
from melmo.model.chars import words_to_char_array
from melmo.model.encoder import BiLM


def streams(B, U, seed):
    rng = np.random.default_rng(seed)
    words = [[WORDS[i] for i in rng.integers(0, len(WORDS), U)] for _ in range(2 * B)]
    flat = words_to_char_array([w for row in words for w in row]).astype(np.int64)
    ids = torch.from_numpy(flat).view(2 * B, U, 50)
    return words[:B], words[B:], ids[:B], ids[B:]


def test_shapes_and_reference_directions():
    """fwd_chars run through RNN_0 and bwd_chars through RNN_1, left to right, no BOS/EOS added."""
    encoder, arrays = random_model()
    fw, bw, f_ids, b_ids = streams(3, 5, 0)
    with torch.no_grad():
        fwd, bwd, (c, h) = encoder.lm_forward(f_ids, b_ids)
    assert fwd.shape == bwd.shape == (3, 5, 8)
    assert c.shape == (2, 2, 3, 16) and h.shape == (2, 2, 3, 8)
    ref = ReferenceBiLM(arrays, SMALL_OPTIONS)
    for b in range(3):
        st = ref.row_state(b)
        rf = ref.direction(0, token_layer(ref.a, SMALL_OPTIONS, fw[b]), st)[-1]
        rb = ref.direction(1, token_layer(ref.a, SMALL_OPTIONS, bw[b]), st)[-1]
        np.testing.assert_allclose(fwd[b].numpy(), rf, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(bwd[b].numpy(), rb, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(c[0, 1, b].numpy(), st[(0, 1)][0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(h[1, 0, b].numpy(), st[(1, 0)][1], rtol=1e-5, atol=1e-5)


def test_state_carry_two_calls_equal_one():
    encoder, _ = random_model()
    _, _, f_ids, b_ids = streams(4, 12, 1)
    with torch.no_grad():
        f_all, b_all, s_all = encoder.lm_forward(f_ids, b_ids)
        f1, b1, s1 = encoder.lm_forward(f_ids[:, :6], b_ids[:, :6])
        f2, b2, s2 = encoder.lm_forward(f_ids[:, 6:], b_ids[:, 6:], s1)
        f_cold, _, _ = encoder.lm_forward(f_ids[:, 6:], b_ids[:, 6:])
    torch.testing.assert_close(torch.cat([f1, f2], 1), f_all, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(torch.cat([b1, b2], 1), b_all, atol=1e-6, rtol=1e-6)
    for a, b in zip(s2, s_all):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    assert (f_cold - f2).abs().max() > 1e-3  # the carried state matters


def test_directions_are_independent():
    encoder, _ = random_model()
    _, _, f_ids, b_ids = streams(2, 6, 2)
    _, _, other, _ = streams(2, 6, 3)
    with torch.no_grad():
        f1, b1, _ = encoder.lm_forward(f_ids, b_ids)
        f2, b2, _ = encoder.lm_forward(other, b_ids)
    assert torch.equal(b1, b2) or (b1 - b2).abs().max() < 1e-6
    assert (f1 - f2).abs().max() > 1e-3


def test_extra_state_rows_are_kept():
    encoder, _ = random_model()
    _, _, f_ids, b_ids = streams(2, 4, 4)
    state = tuple(torch.randn_like(s) for s in encoder.zero_state(5))
    with torch.no_grad():
        _, _, new = encoder.lm_forward(f_ids, b_ids, state)
    for a, b in zip(new, state):
        assert a.shape[2] == 5 and torch.equal(a[:, :, 2:], b[:, :, 2:])


def test_dropout_only_in_training_mode():
    encoder, arrays = random_model()
    with_dropout = BiLM(SMALL_OPTIONS["char_cnn"], SMALL_OPTIONS["lstm"], dropout=0.3)
    with_dropout.load_state_dict(encoder.state_dict())
    _, _, f_ids, b_ids = streams(2, 5, 5)
    with torch.no_grad():
        base = encoder.lm_forward(f_ids, b_ids)[0]
        with_dropout.eval()
        assert torch.equal(with_dropout.lm_forward(f_ids, b_ids)[0], base)
        one = f_ids[:1]
        assert torch.equal(with_dropout(one).layers[-1], encoder(one).layers[-1])
        with_dropout.train()
        torch.manual_seed(0)
        a = with_dropout.lm_forward(f_ids, b_ids)[0]
        b = with_dropout.lm_forward(f_ids, b_ids)[0]
        assert (a - b).abs().max() > 1e-3 and (a - base).abs().max() > 1e-3
        encoder.train()  # dropout 0: training mode changes nothing
        assert torch.equal(encoder.lm_forward(f_ids, b_ids)[0], base)


def test_dropout_placement_as_bilm_tf(monkeypatch):
    """Dropout on every layer's input (layer 0 included), the residual adds the *dropped* input,
    and dropout on the top output (bilm-tf bilm/training.py LanguageModel, train). A deterministic stand-in
    for F.dropout makes the placement checkable against a hand-written composition of the same layers."""
    def fake_dropout(x, p, training=True):
        scale = torch.linspace(0.5, 1.5, x.shape[-1], dtype=x.dtype)
        return x * scale

    encoder = BiLM(SMALL_OPTIONS["char_cnn"], SMALL_OPTIONS["lstm"], dropout=0.5).train()
    _, _, f_ids, b_ids = streams(2, 4, 6)
    monkeypatch.setattr(lstm_module.F, "dropout", fake_dropout)  # torch.nn.functional, used by both modules
    with torch.no_grad():
        fwd, bwd, _ = encoder.lm_forward(f_ids, b_ids)
        B, U = 2, 4
        z = encoder.token_encoder(torch.cat([f_ids, b_ids])).view(2, B, U, 8)
        x = z.transpose(1, 2).reshape(2, U * B, 8)  # packed time-major, all rows full
        zero = encoder.zero_state(B)
        in0 = fake_dropout(x, 0.5)
        o0, _ = encoder.lstm.layers[0](in0, zero[0][:, 0], zero[1][:, 0], [B] * U)
        in1 = fake_dropout(o0, 0.5)
        o1, _ = encoder.lstm.layers[1](in1, zero[0][:, 1], zero[1][:, 1], [B] * U)
        top = fake_dropout(o1 + in1, 0.5).view(2, U, B, 8).transpose(1, 2)
    torch.testing.assert_close(fwd, top[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(bwd, top[1], atol=1e-6, rtol=1e-6)


def test_gradients_reach_every_parameter():
    encoder, _ = random_model(options_with(lstm__use_skip_connections=True))
    encoder.train()
    _, _, f_ids, b_ids = streams(2, 5, 7)
    fwd, bwd, state = encoder.lm_forward(f_ids, b_ids)
    (fwd.square().sum() + bwd.square().sum() + state[0].sum()).backward()
    for name, p in encoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert (encoder.token_encoder.char_embed.weight.grad[0] == 0).all()  # padding row: no gradient


def test_bad_shapes():
    encoder, _ = random_model()
    with pytest.raises(ValueError, match="fwd_chars and bwd_chars"):
        encoder.lm_forward(torch.ones(2, 3, 50, dtype=torch.long), torch.ones(2, 4, 50, dtype=torch.long))


def test_runs_under_bf16_autocast():
    """Mixed precision (conf/trainer gpu/ddp): both APIs run and carry state under autocast."""
    encoder, _ = random_model()
    _, _, f_ids, b_ids = streams(2, 3, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = encoder(f_ids)
        out = encoder(f_ids, out.state)
        encoder.train()
        fwd, bwd, state = encoder.lm_forward(f_ids, b_ids)
        fwd, bwd, state = encoder.lm_forward(f_ids, b_ids, state)
    (fwd.float().sum() + bwd.float().sum()).backward()
    with torch.no_grad():
        exact = encoder.eval()(f_ids, encoder(f_ids).state).layers[-1]
    assert (out.layers[-1].float() - exact).abs().max() < 0.1
