"""From unit edits to splices of a metric's item sequence, and the scorers built on that.

Each incremental metric scores a sequence of items (BLEU/ROUGE tokens, chrF characters)
derived from the units, held as reference item ids (see :mod:`~textedit_env.metrics.ngrams`).
A :class:`Splitter` turns one unit edit into the splice ``ids[start:stop] = piece`` of that
sequence, in one of two ways:

- :class:`PerUnit`: the items of the joined text are the concatenation of each unit's items
  (true for chrF always, and for word units with BLEU's 13a/char/none tokenizers and
  ROUGE's tokenizer), so the piece is the edited unit's items, found from per-unit lengths.
- :class:`Retokenize`: otherwise (character units, or tokenizers whose result depends on
  neighbouring words), the edited text is tokenized from scratch and the splice is what
  differs between old and new ids after their common prefix and suffix. Still exact;
  the statistics' update after it stays local.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from itertools import accumulate, chain
from typing import Callable, Sequence

import numpy as np

from textedit_env.metrics.base import OPS, Edit, EditScores, Scorer, join_units
from textedit_env.metrics.ngrams import NgramMatcher, Piece, ReferenceNgrams, Seq

Splice = tuple[int, int, Piece]  # ids[start:stop] is replaced by piece


def check_edit(edit: Edit, length: int) -> None:
    """Reject an edit that does not fit a hypothesis of ``length`` units."""
    if edit.op not in OPS:
        raise ValueError(f"unknown edit op {edit.op!r}; expected one of {OPS}")
    limit = length if edit.op == "insert" else length - 1
    if not 0 <= edit.position <= limit:
        raise ValueError(f"{edit.op} position {edit.position} is out of range for {length} units")
    if edit.op != "delete" and not isinstance(edit.word, str):
        raise ValueError(f"{edit.op} needs a word string, got {edit.word!r}")


def edited(units: Sequence[str], edit: Edit) -> list[str]:
    """A copy of ``units`` with ``edit`` applied."""
    copy = list(units)
    edit.apply(copy)
    return copy


class Splitter(ABC):
    """Derives the item ids of a hypothesis and locates the splice of each edit."""

    def __init__(self, items: Callable[[str], Seq], reference: ReferenceNgrams) -> None:
        self._items = items
        self._reference = reference

    @abstractmethod
    def reset(self, units: Sequence[str]) -> list[int]:
        """The item ids of the whole hypothesis."""

    @abstractmethod
    def locate(self, units: Sequence[str], ids: list[int], edit: Edit) -> Splice:
        """The splice of ``ids`` (the ids of ``units``) that ``edit`` causes; nothing changes."""

    def apply(self, units: list[str], ids: list[int], edit: Edit) -> Splice:
        """Apply ``edit`` to ``units`` (and the splitter's own records); return its splice of
        ``ids``, which the caller applies."""
        splice = self.locate(units, ids, edit)
        edit.apply(units)
        return splice


class PerUnit(Splitter):
    """Items of the text are the concatenation of the items of each unit."""

    def __init__(self, items: Callable[[str], Seq], reference: ReferenceNgrams) -> None:
        super().__init__(items, reference)
        self.lengths: list[int] = []  # items per unit, to find where a unit's items start
        self._pieces: dict[str, Piece] = {}  # unit -> its item ids, for this reference

    def piece(self, unit: str) -> Piece:
        piece = self._pieces.get(unit)
        if piece is None:
            piece = self._pieces[unit] = self._reference.encode(self._items(unit))
        return piece

    def reset(self, units: Sequence[str]) -> list[int]:
        items = [self._items(u) for u in units]
        self.lengths = [len(i) for i in items]
        return list(self._reference.encode(chain.from_iterable(items)))

    def locate(self, units: Sequence[str], ids: list[int], edit: Edit) -> Splice:
        op, position, word = edit
        start = sum(self.lengths[:position])
        if op == "insert":
            return start, start, self.piece(word)
        stop = start + self.lengths[position]
        return start, stop, () if op == "delete" else self.piece(word)

    def apply(self, units: list[str], ids: list[int], edit: Edit) -> Splice:
        # locate's arithmetic, with the edit applied to the units and their item counts on the
        # way: the step path, kept to one call.
        op, position, word = edit
        lengths = self.lengths
        start = sum(lengths[:position])
        if op == "insert":
            piece = self.piece(word)
            lengths.insert(position, len(piece))
            units.insert(position, word)
            return start, start, piece
        stop = start + lengths[position]
        if op == "delete":
            del lengths[position], units[position]
            return start, stop, ()
        piece = self.piece(word)
        lengths[position] = len(piece)
        units[position] = word
        return start, stop, piece


class Retokenize(Splitter):
    """Items come from the whole joined text; a splice is the difference of two tokenizations."""

    def __init__(self, items: Callable[[str], Seq], reference: ReferenceNgrams, unit: str) -> None:
        super().__init__(items, reference)
        self._unit = unit

    def reset(self, units: Sequence[str]) -> list[int]:
        return list(self._reference.encode(self._items(join_units(units, self._unit))))

    def locate(self, units: Sequence[str], ids: list[int], edit: Edit) -> Splice:
        new = self._reference.encode(self._items(join_units(edited(units, edit), self._unit)))
        shortest = min(len(ids), len(new))
        head = 0
        while head < shortest and ids[head] == new[head]:
            head += 1
        tail = 0
        while tail < shortest - head and ids[-1 - tail] == new[-1 - tail]:
            tail += 1
        return head, len(ids) - tail, new[head : len(new) - tail]


class SpliceScorer(Scorer):
    """A scorer whose statistics follow the splices of its splitter's item ids."""

    def __init__(self, splitter: Splitter) -> None:
        self._splitter = splitter
        self._units: list[str] = []
        self._ids: list[int] = []
        self._score = self._rebuild(self._ids)

    @abstractmethod
    def _rebuild(self, ids: list[int]) -> float:
        """Recompute the statistics of ``ids`` from scratch; return its score."""

    @abstractmethod
    def _commit(self, ids: list[int], start: int, stop: int, piece: Piece) -> float:
        """Update the statistics for ``ids[start:stop] = piece`` (``ids`` is the sequence
        before it); return the new score."""

    @abstractmethod
    def _scores_at(self, ids: list[int], start: int, stop: int, pieces: Sequence[Piece]) -> list[float]:
        """Score after ``ids[start:stop] = piece`` for each piece alone; statistics unchanged."""

    def set_hypothesis(self, units: Sequence[str]) -> float:
        self._units = list(units)
        self._ids = self._splitter.reset(self._units)
        self._score = self._rebuild(self._ids)
        return self._score

    @property
    def score(self) -> float:
        return self._score

    def __len__(self) -> int:
        return len(self._units)

    def apply(self, edit: Edit) -> float:
        check_edit(edit, len(self._units))
        start, stop, piece = self._splitter.apply(self._units, self._ids, edit)
        self._score = self._commit(self._ids, start, stop, piece)
        self._ids[start:stop] = piece
        return self._score

    def preview(self, edits: Sequence[Edit]) -> list[float]:
        units, ids, locate = self._units, self._ids, self._splitter.locate
        scores = []
        for edit in edits:
            check_edit(edit, len(units))
            start, stop, piece = locate(units, ids, edit)
            scores += self._scores_at(ids, start, stop, (piece,))
        return scores

    def edit_scores(self, words: Sequence[str]) -> EditScores:
        splitter = self._splitter
        if not isinstance(splitter, PerUnit):
            return super().edit_scores(words)
        # Words without reference items score alike (for one item count): they are scored once,
        # as zeros, as are words with the same items. Deleting is writing no items.
        pieces = [p if any(p) else (0,) * len(p) for p in map(splitter.piece, words)]
        unique = list(dict.fromkeys([*pieces, ()]))
        column = {p: i for i, p in enumerate(unique)}
        words_at = np.array([column[p] for p in pieces], dtype=np.intp)
        # Edits at one place share the removal of what was there: one batch per place.
        ids, bounds = self._ids, list(accumulate(splitter.lengths, initial=0))
        insert = [self._scores_at(ids, b, b, unique) for b in bounds]
        replace = [self._scores_at(ids, a, b, unique) for a, b in zip(bounds, bounds[1:])]
        insert_table = np.array(insert, dtype=np.float64).reshape(len(insert), len(unique))
        replace_table = np.array(replace, dtype=np.float64).reshape(len(replace), len(unique))
        return EditScores(replace_table[:, column[()]], insert_table[:, words_at], replace_table[:, words_at])


class NgramScorer(SpliceScorer):
    """A metric that is a function of the hypothesis length and its clipped n-gram matches."""

    def __init__(self, splitter: Splitter, reference: ReferenceNgrams) -> None:
        self._matcher = NgramMatcher(reference)
        super().__init__(splitter)

    @abstractmethod
    def _value(self, hyp_len: int, matches: list[int]) -> float:
        """The metric from the hypothesis length and ``matches[n]`` per order n."""

    def _rebuild(self, ids: list[int]) -> float:
        self._matcher.reset(ids)
        return self._value(len(ids), self._matcher.matches)

    def _commit(self, ids: list[int], start: int, stop: int, piece: Piece) -> float:
        self._matcher.splice(ids, start, stop, piece)
        return self._value(len(ids) - (stop - start) + len(piece), self._matcher.matches)

    def _scores_at(self, ids: list[int], start: int, stop: int, pieces: Sequence[Piece]) -> list[float]:
        rest, value = len(ids) - (stop - start), self._value
        each = self._matcher.matches_each(ids, start, stop, pieces)
        return [value(rest + len(piece), matches) for piece, matches in zip(pieces, each)]
