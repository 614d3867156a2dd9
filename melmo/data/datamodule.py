"""The LightningDataModule of LM training: stateful windows in, position in the checkpoint.

Training batches (one process, ``B = batch_size``, ``U = unroll_steps``, ``C`` = characters per token)::

    fwd_chars (B, U, C)   ELMo character ids (+1 convention) of the forward inputs
    fwd_targets (B, U)    next-token vocabulary ids (<UNK> for rare words)
    fwd_lang (B, U)       language index of every position (metadata["languages"])
    bwd_chars, bwd_targets, bwd_lang   the same for the backward stream (an independent order)

Held-out batches: one DataLoader over every language's continuous held-out rows (melmo.data.heldout);
each batch carries the language of its rows, so perplexity is still logged per language.

Resume: Lightning pre-fetches a batch ahead, so the stream's own position runs ahead of training.
Each batch therefore carries the position *after* it, and ``on_after_batch_transfer`` (called right
before the training step uses the batch) records it as consumed; ``state_dict`` returns that
consumed position and Lightning stores it in every checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset

from melmo.data.heldout import HeldoutDataset, HeldoutOptions
from melmo.data.prepared import PreparedCorpus
from melmo.data.stream import LMStream
from melmo.errors import ConfigError
from melmo.model.chars import MAX_CHARS
from melmo.utils.dist import gather_per_rank, pick_rank


class _TrainStream(IterableDataset):
    def __init__(self, dm: "LMDataModule"):
        self.dm = dm

    def __iter__(self):
        dm = self.dm
        while True:
            f, b = dm.streams["fwd"].next_batch(), dm.streams["bwd"].next_batch()
            corpus = dm.corpus
            yield {
                "fwd_chars": torch.from_numpy(corpus.char_ids(f["ids"])),
                "fwd_targets": torch.from_numpy(f["targets"]),
                "fwd_lang": torch.from_numpy(f["lang"]),
                "bwd_chars": torch.from_numpy(corpus.char_ids(b["ids"])),
                "bwd_targets": torch.from_numpy(b["targets"]),
                "bwd_lang": torch.from_numpy(b["lang"]),
                "position": {"fwd": dm.streams["fwd"].state_dict(), "bwd": dm.streams["bwd"].state_dict()},
            }


class LMDataModule(L.LightningDataModule):
    def __init__(self, batch_size: int = 32, unroll_steps: int = 20, heldout: HeldoutOptions | None = None,
                 seed: int = 1, corpus_dir: str | Path | None = None, max_chars: int = MAX_CHARS):
        super().__init__()
        self.batch_size, self.unroll_steps = batch_size, unroll_steps
        self.heldout = heldout or HeldoutOptions()
        self.seed, self.corpus_dir, self.max_chars = seed, corpus_dir, max_chars
        self.corpus: PreparedCorpus | None = None
        self.streams: dict[str, LMStream] = {}
        self._consumed: dict | None = None
        self._restored: dict | None = None

    @property
    def languages(self) -> list[str]:
        return self.corpus.languages

    def load_corpus(self) -> PreparedCorpus:
        """The prepared corpus (vocabulary, languages, shards), opened once."""
        if self.corpus is None:
            if self.corpus_dir is None:
                raise ConfigError("LMDataModule needs corpus_dir (a directory written by "
                                  "melmo.corpus.prepare)")
            self.corpus = PreparedCorpus(self.corpus_dir, self.max_chars)
        return self.corpus

    def setup(self, stage: str | None = None, rank: int | None = None, world_size: int | None = None) -> None:
        self.load_corpus()
        if rank is None:
            rank = self.trainer.global_rank if self.trainer is not None else 0
            world_size = self.trainer.world_size if self.trainer is not None else 1
        if not self.streams:
            self.streams = {
                d: LMStream(self.corpus, self.batch_size, self.unroll_steps, seed=self.seed, direction=d,
                            rank=rank, world_size=world_size)
                for d in ("fwd", "bwd")
            }
        if self._restored is not None:
            for d, s in self.streams.items():
                s.load_state_dict(self._restored[d])
            self._consumed, self._restored = self._restored, None

    def train_dataloader(self) -> DataLoader:
        # num_workers=0: the stream is stateful and its position must live in this process.
        return DataLoader(_TrainStream(self), batch_size=None, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        # One loader (one progress bar). Each rank scores its share of the rows; HeldoutPerplexity sums
        # over ranks. A rank without rows reads one unscored row, so it still joins the sync.
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        return DataLoader(HeldoutDataset(self.load_corpus(), self.heldout, rank, world), batch_size=None)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        if isinstance(batch, dict) and "position" in batch:
            self._consumed = batch.pop("position")
        return batch

    def state_dict(self) -> dict:
        return {"position": gather_per_rank(self._consumed)}  # one entry per rank (melmo.utils.dist)

    def load_state_dict(self, state_dict: dict) -> None:
        position = pick_rank(state_dict.get("position"))
        if position is not None:
            self._restored = position
            if self.streams:  # already set up: apply now
                self.setup()
