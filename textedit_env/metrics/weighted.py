"""A weighted sum of metrics, each kept up to date by its own scorer.

Each component is exact; the sum's float rounding depends on grouping (``make_scorer`` puts
all ROUGE types in one component), so a mix equals the weighted sum of library values to
within 1e-12, not bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

from textedit_env.metrics.base import Edit, EditScores, Scorer


class WeightedScorer(Scorer):
    """score = sum of weight * component score, summed in the order given."""

    def __init__(self, parts: Sequence[tuple[float, Scorer]]) -> None:
        self.parts = list(parts)

    def _mix(self, scores: Sequence[float]) -> float:
        return sum(weight * s for (weight, _), s in zip(self.parts, scores))

    def set_hypothesis(self, units: Sequence[str]) -> float:
        return self._mix([scorer.set_hypothesis(units) for _, scorer in self.parts])

    @property
    def score(self) -> float:
        return self._mix([scorer.score for _, scorer in self.parts])

    def __len__(self) -> int:
        return len(self.parts[0][1])

    def apply(self, edit: Edit) -> float:
        return self._mix([scorer.apply(edit) for _, scorer in self.parts])

    def preview(self, edits: Sequence[Edit]) -> list[float]:
        columns = [scorer.preview(edits) for _, scorer in self.parts]
        return [self._mix(row) for row in zip(*columns)]

    def edit_scores(self, words: Sequence[str]) -> EditScores:
        tables = [(weight, scorer.edit_scores(words)) for weight, scorer in self.parts]
        # Elementwise, the same float operations as ``_mix`` (starting from 0, in order).
        return EditScores(*(sum(weight * table[i] for weight, table in tables) for i in range(3)))
