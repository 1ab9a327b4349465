"""The best score over several references: how rouge-score (``score_multi``) and sacrebleu's chrF
score a hypothesis against more than one reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textedit_env.metrics.base import Edit, EditScores, Scorer


class BestOfScorer(Scorer):
    """score = the highest score of the scorers, one per reference, that follow the same hypothesis.

    rouge-score's ``score_multi`` keeps, per ROUGE type, the reference of highest F-measure, and
    sacrebleu's chrF the reference of highest chrF: both are the maximum of the single-reference
    values, so each component is exact and so is their maximum.
    """

    def __init__(self, scorers: Sequence[Scorer]) -> None:
        self.scorers = list(scorers)

    def set_hypothesis(self, units: Sequence[str]) -> float:
        return max(scorer.set_hypothesis(units) for scorer in self.scorers)

    @property
    def score(self) -> float:
        return max(scorer.score for scorer in self.scorers)

    def __len__(self) -> int:
        return len(self.scorers[0])

    def apply(self, edit: Edit) -> float:
        return max([scorer.apply(edit) for scorer in self.scorers])  # a list: every scorer must apply it

    def preview(self, edits: Sequence[Edit]) -> list[float]:
        return [max(column) for column in zip(*(scorer.preview(edits) for scorer in self.scorers))]

    def edit_scores(self, words: Sequence[str]) -> EditScores:
        tables = [scorer.edit_scores(words) for scorer in self.scorers]
        return EditScores(*(np.maximum.reduce([table[i] for table in tables]) for i in range(3)))
