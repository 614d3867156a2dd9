"""The training budget: the ``budget:`` block of conf/train.yaml turned into optimizer steps.

The rule, in one place: ``budget.steps`` is the budget unless ``budget.tokens`` or ``budget.epochs``
is set (at most one of the two); then the steps are planned from it with the trainer's real world
size, ``ceil(tokens / (batch_size x unroll_steps x world_size))`` -- tokens per direction over all
processes, as bilm-tf counts ``n_train_tokens``; epochs are nominal epochs of the prepared corpus.
The trainer configs carry ``max_steps: ${budget.steps}``; a ``trainer.max_steps=N`` override is
read as ``budget.steps=N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omegaconf import DictConfig

from melmo.errors import MelmoError


class BudgetError(MelmoError, ValueError):
    """A budget block that does not say one thing."""


@dataclass(frozen=True)
class Budget:
    steps: int | None = None
    tokens: float | None = None
    epochs: float | None = None

    def __post_init__(self):
        if self.tokens is not None and self.epochs is not None:
            raise BudgetError(f"budget: set budget.tokens ({self.tokens}) or budget.epochs ({self.epochs}), "
                              "not both")
        for key in ("steps", "tokens", "epochs"):
            v = getattr(self, key)
            if v is not None and not float(v) > 0:
                raise BudgetError(f"budget.{key}: must be > 0, got {v}")
        if self.steps is None and self.tokens is None and self.epochs is None:
            raise BudgetError("budget: set one of budget.steps, budget.tokens, budget.epochs")

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "Budget":
        """The ``budget`` block of a train config (``trainer.max_steps``, when overridden, is
        budget.steps)."""
        b = cfg.get("budget") or {}
        steps, tokens, epochs = b.get("steps"), b.get("tokens"), b.get("epochs")
        trainer_steps = cfg.trainer.get("max_steps")
        if trainer_steps not in (None, -1, steps):  # trainer.max_steps=N given instead of budget.steps=N
            if tokens is not None or epochs is not None:
                raise BudgetError(f"budget: trainer.max_steps={trainer_steps} contradicts "
                                  "budget.tokens/epochs; set the budget in the budget block only")
            steps = trainer_steps
        return cls(steps=None if steps is None else int(steps), tokens=tokens, epochs=epochs)

    def planned_steps(self, corpus_tokens: int, tokens_per_step: int) -> int:
        """Optimizer steps for this budget; ``tokens_per_step`` = batch x unroll x world size."""
        if tokens_per_step < 1:
            raise BudgetError(f"tokens per step must be >= 1, got {tokens_per_step}")
        if self.tokens is not None:
            return max(1, math.ceil(float(self.tokens) / tokens_per_step))
        if self.epochs is not None:
            return max(1, math.ceil(float(self.epochs) * corpus_tokens / tokens_per_step))
        return int(self.steps)

    def describe(self) -> str:
        if self.tokens is not None:
            return f"budget.tokens={self.tokens:g}"
        if self.epochs is not None:
            return f"budget.epochs={self.epochs:g}"
        return f"budget.steps={self.steps}"
