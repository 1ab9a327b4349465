"""The interface every reward metric implements.

A :class:`Scorer` is bound to one reference and holds the statistics of one hypothesis
(the environment's current text, as a list of *units*: words, or characters with
``unit="char"``). After a single edit it updates those statistics instead of rescoring
the whole text, which is what makes a step cheap.

Scores are on a 0-1 scale (sacrebleu's BLEU and chrF divided by 100).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import NamedTuple

import numpy as np

EDIT_OPS = ("insert", "delete", "replace")  # the ops of an Edit; actions add "stop"
# Edits previewed per batch by the generic edit_scores: memory stays flat however many there are.
PREVIEW_BATCH = 4096


class Edit(NamedTuple):
    """One unit-level edit of a text.

    ``insert`` makes ``word`` the ``position``-th unit (0 <= position <= length);
    ``delete`` removes the unit at ``position``; ``replace`` overwrites it with ``word``
    (0 <= position < length for both). A named tuple: one is made for every step.
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
            raise ValueError(f"unknown edit op {self.op!r}; expected one of {EDIT_OPS}")


def join_units(units: Sequence[str], unit: str) -> str:
    """The string the metric libraries see: words joined by one space, characters by nothing."""
    return (" " if unit == "word" else "").join(units)


class EditScores(NamedTuple):
    """Score after each single edit of an ``n``-unit hypothesis writing one of ``k`` words.

    ``delete[p]`` deletes unit p; ``insert[p, i]`` inserts ``words[i]`` at position p
    (0 <= p <= n); ``replace[p, i]`` overwrites unit p with ``words[i]``.
    """

    delete: np.ndarray  # (n,)
    insert: np.ndarray  # (n + 1, k)
    replace: np.ndarray  # (n, k)


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

    @abstractmethod
    def __len__(self) -> int:
        """Number of units of the current hypothesis."""

    def edit_scores(self, words: Sequence[str]) -> EditScores:
        """The score after every delete, and every insert and replace writing one of ``words``;
        the state is unchanged. Equal to :meth:`preview` of those edits, taken ``PREVIEW_BATCH`` at
        a time (scorers override it with a batched computation)."""
        n, k = len(self), len(words)
        scores = np.empty(n + (2 * n + 1) * k, dtype=np.float64)
        edits = _every_edit(n, words)
        for start in range(0, len(scores), PREVIEW_BATCH):
            batch = list(islice(edits, PREVIEW_BATCH))
            scores[start : start + len(batch)] = self.preview(batch)
        inserts = n + (n + 1) * k  # the end of the inserts' scores
        return EditScores(scores[:n], scores[n:inserts].reshape(n + 1, k), scores[inserts:].reshape(n, k))


def _every_edit(n: int, words: Sequence[str]) -> Iterator[Edit]:
    """Every delete, then every insert and every replace writing one of ``words``, of ``n`` units."""
    yield from (Edit("delete", p) for p in range(n))
    for op, top in (("insert", n + 1), ("replace", n)):
        yield from (Edit(op, p, w) for p in range(top) for w in words)
