"""Budget.planned_steps: the training budget in tokens (budget.tokens) or nominal epochs, as optimizer
steps."""

import pytest

from melmo.pretrain.budget import Budget


def _fewest_steps(budget_tokens: float, tokens_per_step: int) -> int:
    """Brute force: the fewest whole steps (at least one) that see ``budget_tokens`` tokens."""
    steps = 1
    while steps * tokens_per_step < budget_tokens:
        steps += 1
    return steps


@pytest.mark.parametrize("max_tokens,tokens_per_step", [
    (1000, 320),  # 960 < 1000: a 4th step
    (960, 320),  # exactly 3 steps
    (1, 320),  # at least one step
    (1e5, 4 * 8 * 2),  # YAML writes 1e5 as a float; batch 4 x unroll 8 x 2 processes
    (123_457, 1000),
])
def test_planned_steps_from_max_tokens(max_tokens, tokens_per_step):
    steps = Budget(tokens=max_tokens).planned_steps(corpus_tokens=10**9, tokens_per_step=tokens_per_step)
    assert steps == _fewest_steps(max_tokens, tokens_per_step)
    assert steps * tokens_per_step >= max_tokens > (steps - 1) * tokens_per_step or steps == 1


def test_planned_steps_from_max_epochs_and_none():
    assert Budget(epochs=2).planned_steps(corpus_tokens=5000, tokens_per_step=300) == _fewest_steps(
        10_000, 300)
    assert Budget(steps=7).planned_steps(corpus_tokens=5000, tokens_per_step=300) == 7  # budget.steps decides
