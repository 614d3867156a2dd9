"""Encoding policies: how a list of tokenized sentences is batched through the frozen biLM.

    policy = Policy("stateless", batch_size=32)
    for index, layers in encode(encoder, sentences, policy):   # layers: (L + 1, n_tokens, D) float32
        ...

Three policies (the LSTM state is what differs; AllenNLP users got different vectors for the same
sentence depending on batch history, allennlp#2092, #2643):

* ``stateless`` (default): every sentence starts from a zero state, so its vectors never depend on
  its neighbours; sentences are sorted by length (longest first) into batches to cut padding.
* ``stream``: bilm-tf's protocol (bilm-tf bilm/model.py BidirectionalLanguageModel, AllenNLP
  _ElmoBiLm): batches in input order, batch slot k continues from the state slot k had after the
  previous batch, starting from zeros. This is how the upstream reference dumps were made.
* ``stateful``: ``stream`` after a fixed warm-up, as simple_elmo does to let the state settle:
  the first ``warmup_batches`` batches of the data are read once with their outputs discarded,
  then the whole data is read from its first batch on, continuing from the warmed-up state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from melmo.errors import ConfigError
from melmo.model.chars import batch_to_ids

POLICIES = ("stateless", "stream", "stateful")


@dataclass(frozen=True)
class Policy:
    name: str = "stateless"
    batch_size: int = 32
    warmup_batches: int = 0  # stateful only

    def __post_init__(self):
        if self.name not in POLICIES:
            raise ConfigError(f"encoding policy {self.name!r}: use one of {', '.join(POLICIES)}")
        if self.batch_size < 1:
            raise ConfigError(f"encoding policy: batch_size must be >= 1, got {self.batch_size}")
        if self.name != "stateful" and self.warmup_batches:
            raise ConfigError(f"encoding policy {self.name!r} takes no warmup_batches (only 'stateful' does)")

    def describe(self) -> dict:
        """What changes the vectors (part of the activation cache key and of the results).

        The batch size changes the vectors only for the stateful policies (it decides which slot a
        sentence reads in); for ``stateless`` it is left out, so any batch size shares one cache."""
        d = asdict(self)
        if self.name == "stateless":
            d.pop("batch_size")
        if self.name != "stateful":
            d.pop("warmup_batches")
        return d

    def label(self) -> str:
        """A short readable name: stateless, stream-b3, stateful-b32-w10."""
        if self.name == "stateless":
            return "stateless"
        base = f"{self.name}-b{self.batch_size}"
        return f"{base}-w{self.warmup_batches}" if self.name == "stateful" else base


def as_policy(policy: Policy | str | dict | None) -> Policy:
    """A Policy from a name, a config mapping (name, batch_size, warmup_batches) or a Policy."""
    if policy is None:
        return Policy()
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, str):
        return Policy(policy)
    return Policy(**{k: v for k, v in dict(policy).items() if k in ("name", "batch_size", "warmup_batches")})


def _batches(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def encode(encoder, sentences: Sequence[Sequence[str]], policy: Policy | str | None = None
           ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (sentence index, layers (L + 1, n_tokens, D) float32) for every non-empty sentence.

    Empty sentences yield an array with 0 tokens. The encoder is used under ``torch.inference_mode``
    and never trained here. Order: input order for ``stream``/``stateful``, longest first for
    ``stateless``.
    """
    policy = as_policy(policy)
    C = encoder.max_chars
    device = next(encoder.parameters()).device
    L = encoder.n_layers + 1
    D = 2 * encoder.projection_dim
    lengths = [len(s) for s in sentences]
    for i, s in enumerate(sentences):
        if isinstance(s, str):
            raise TypeError(f"sentence {i} is a string, expected a list of tokens")
    nonempty = [i for i, n in enumerate(lengths) if n]
    for i in range(len(sentences)):
        if not lengths[i]:
            yield i, np.zeros((L, 0, D), dtype=np.float32)

    def run(idx: list[int], state):
        ids = batch_to_ids([list(sentences[i]) for i in idx], C).to(device)
        out = encoder(ids, state)
        return torch.stack(out.layers, 0).float().cpu().numpy(), out.state  # (L, B, T, D)

    with torch.inference_mode():
        if policy.name == "stateless":
            order = sorted(nonempty, key=lambda i: (-lengths[i], i))
            for chunk in _batches(len(order), policy.batch_size):
                idx = [order[j] for j in chunk]
                layers, _ = run(idx, None)
                for k, i in enumerate(idx):
                    yield i, layers[:, k, : lengths[i]]
            return
        batches = [[nonempty[j] for j in chunk] for chunk in _batches(len(nonempty), policy.batch_size)]
        state = None
        if policy.name == "stateful":
            for idx in batches[: policy.warmup_batches]:
                _, state = run(idx, state)
        for idx in batches:
            layers, state = run(idx, state)
            for k, i in enumerate(idx):
                yield i, layers[:, k, : lengths[i]]
