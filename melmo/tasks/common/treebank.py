"""One language's UD treebank as the token tasks (pos, pos_transfer, parsing) use it: its splits read once
(melmo.formats.conllu), their units (melmo.tasks.common.ud: what the encoder reads, what the head labels) and
their activations, encoded once per split through the run's activation cache (melmo.tasks.common.context)."""

from __future__ import annotations

from omegaconf import DictConfig

from melmo.formats.conllu import read_conllu
from melmo.tasks.common.context import EvalContext
from melmo.tasks.common.features import TokenBatches
from melmo.tasks.common.ud import make_units, treebank_files


class Treebank:
    """One language's splits, their units and cached activations (encoded once per split)."""

    def __init__(self, ctx: EvalContext, root, lang: str, tcfg: DictConfig, check_trees: bool = False):
        self.lang = lang
        files = treebank_files(root, lang)
        self.sentences = {split: [s for p in paths for s in read_conllu(p, check_trees=check_trees)]
                          for split, paths in files.items()}
        self.files = {split: [str(p) for p in paths] for split, paths in files.items()}
        self.units = {split: [make_units(s, tcfg.encoder_input, tcfg.convention, lang) for s in sents]
                      for split, sents in self.sentences.items()}
        self.ctx, self._acts = ctx, {}
        self.tokenization = {"source": "conllu", "encoder_input": tcfg.encoder_input}

    def acts(self, split: str):
        if split not in self._acts:
            self._acts[split] = self.ctx.encode([u.fed for u in self.units[split]],
                                                tokenization=self.tokenization, label=f"{self.lang}/{split}",
                                                language=self.lang)
        return self._acts[split]

    def batches(self, split: str, indices, batch_size: int, shuffle: bool = False,
                seed: int = 0) -> TokenBatches:
        units = self.units[split]
        return TokenBatches(self.acts(split), indices, [units[i].labels for i in indices],
                            [units[i].positions for i in indices], batch_size=batch_size, shuffle=shuffle,
                            seed=seed)

    def tokens_cut_share(self) -> float:
        cut = sum(self.acts(s).meta["tokens_cut"] for s in self.units)
        total = sum(self.acts(s).meta["n_tokens"] for s in self.units)
        return cut / total if total else 0.0
