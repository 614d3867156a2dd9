"""ScalarMix against AllenNLP's definition, computed independently here."""

import torch

from melmo.encode.scalar_mix import ScalarMix


def test_initial_mix_is_layer_mean():
    torch.manual_seed(0)
    layers = [torch.randn(2, 5, 6) for _ in range(3)]
    mix = ScalarMix(3)
    assert torch.equal(mix.scalar_parameters.detach(), torch.zeros(3)) and mix.gamma.item() == 1.0
    torch.testing.assert_close(mix(layers), (layers[0] + layers[1] + layers[2]) / 3)
    torch.testing.assert_close(mix(torch.stack(layers, 2)), (layers[0] + layers[1] + layers[2]) / 3)


def test_weights_and_gamma():
    torch.manual_seed(1)
    layers = [torch.randn(2, 4, 3) for _ in range(3)]
    mix = ScalarMix(3, initial_scalar_parameters=[1.0, -2.0, 0.5])
    with torch.no_grad():
        mix.gamma.fill_(2.5)
    e = torch.exp(torch.tensor([1.0, -2.0, 0.5]))
    w = e / e.sum()
    torch.testing.assert_close(mix(layers), 2.5 * (w[0] * layers[0] + w[1] * layers[1] + w[2] * layers[2]))


def test_layer_norm_over_unmasked_elements_only():
    torch.manual_seed(2)
    layers = [torch.randn(2, 4, 3) for _ in range(3)]
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    # garbage in the padding must not change the result
    noisy = [t.clone() for t in layers]
    for t in noisy:
        t[~mask] = 1000.0
    mix = ScalarMix(3, do_layer_norm=True)
    out, out_noisy = mix(layers, mask), mix(noisy, mask)
    torch.testing.assert_close(out[mask], out_noisy[mask])
    expected = 0
    for t in layers:
        vals = t[mask]  # (N, D): one mean and one variance over all of them
        mean, var = vals.mean(), vals.var(unbiased=False)
        expected = expected + (t - mean) / torch.sqrt(var + 1e-12) / 3
    torch.testing.assert_close(out[mask], expected[mask])
