"""Dependency parsing on frozen features: biaffine parser, tree decoding, CoNLL 2018 scores."""

from melmo.tasks.parsing.scores import conllu_scores

__all__ = ["conllu_scores"]
