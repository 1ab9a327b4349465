"""The interface every reward metric implements.

A :class:`Scorer` is bound to one reference and holds the statistics of one hypothesis
(the environment's current text, as a list of *units*: words, or characters with
``unit="char"``). After a single edit it updates those statistics instead of rescoring
the whole text, which is what makes a step cheap.

Scores are on a 0-1 scale (sacrebleu's BLEU and chrF divided by 100).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

OPS = ("insert", "delete", "replace")


@dataclass(frozen=True)
class Edit:
    """One unit-level edit of a text.

    ``insert`` makes ``word`` the ``position``-th unit (0 <= position <= length);
    ``delete`` removes the unit at ``position``; ``replace`` overwrites it with ``word``
    (0 <= position < length for both).
    """

    op: str
    position: int
    word: str | None = None

    def apply(self, units: list[str]) -> None:
        """Apply the edit in place to a plain list of units."""
        if self.op == "insert":
            units.insert(self.position, self.word)
        elif self.op == "delete":
            del units[self.position]
        elif self.op == "replace":
            units[self.position] = self.word
        else:
            raise ValueError(f"unknown edit op {self.op!r}; expected one of {OPS}")


def join_units(units: Sequence[str], unit: str) -> str:
    """The string the metric libraries see: words joined by one space, characters by nothing."""
    return (" " if unit == "word" else "").join(units)


class Scorer(ABC):
    """Score of a changing hypothesis against one fixed reference."""

    @abstractmethod
    def set_hypothesis(self, units: Sequence[str]) -> float:
        """Replace the whole hypothesis; return its score."""

    @property
    @abstractmethod
    def score(self) -> float:
        """Score of the current hypothesis."""

    @abstractmethod
    def apply(self, edit: Edit) -> float:
        """Apply one valid edit to the hypothesis; return the new score."""

    @abstractmethod
    def preview(self, edits: Sequence[Edit]) -> list[float]:
        """Score the hypothesis would have after each edit alone; the state is unchanged."""
