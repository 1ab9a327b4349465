"""From unit edits to splices of a metric's item sequence, and the scorers built on that.

Each incremental metric scores a sequence of items (BLEU/ROUGE tokens, chrF characters)
derived from the units, held as reference item ids (see :mod:`~textedit_env.metrics.ngrams`).
A :class:`Splitter` turns one unit edit into the splice ``ids[start:stop] = piece`` of that
sequence, in one of two ways:

- :class:`PerUnit`: the items of the joined text are the concatenation of each unit's items
  (true for chrF always, and for word units with BLEU's 13a/char/none tokenizers and
  ROUGE's tokenizer), so the piece is the edited unit's items, found from per-unit lengths.
- :class:`PerChunk`: character units whose items are the concatenation of each
  whitespace-separated chunk's items (ROUGE's tokens), so the piece is the items of the
  chunk(s) around the edit, found from item counts before every chunk boundary.
- :class:`Retokenize`: otherwise (tokenizers whose result depends on neighbouring words), the
  edited text is tokenized from scratch and the splice is what differs between old and new
  ids after their common prefix and suffix. Still exact; the statistics' update after it
  stays local.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from itertools import accumulate, chain

import numpy as np

from textedit_env.metrics.base import EDIT_OPS, Edit, EditScores, Scorer, join_units
from textedit_env.metrics.ngrams import NgramMatcher, Piece, ReferenceNgrams, Seq

Splice = tuple[int, int, Piece]  # ids[start:stop] is replaced by piece


def check_edit(edit: Edit, length: int) -> None:
    """Reject an edit that does not fit a hypothesis of ``length`` units."""
    if edit.op not in EDIT_OPS:
        raise ValueError(f"unknown edit op {edit.op!r}; expected one of {EDIT_OPS}")
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


class PerChunk(Splitter):
    """Character units; the items of the text are those of its whitespace-separated chunks, in
    order (``items`` gives one chunk's), so an edit retokenizes only the chunk(s) it touches."""

    def __init__(self, items: Callable[[str], Seq], reference: ReferenceNgrams) -> None:
        super().__init__(items, reference)
        self._before = [0]  # _before[i]: items of units[:i], kept where i is a chunk boundary

    def _encode(self, units: Sequence[str]) -> Piece:
        return self._reference.encode(chain.from_iterable(map(self._items, "".join(units).split())))

    def _recount(self, units: Sequence[str]) -> None:
        before, count, start = [0] * (len(units) + 1), 0, None
        for i in range(len(units) + 1):
            if i < len(units) and not units[i].isspace():
                start = i if start is None else start
                continue
            if start is not None:
                count, start = count + len(self._items("".join(units[start:i]))), None
            before[i] = count
            if i < len(units):
                before[i + 1] = count  # the start of the next chunk
        self._before = before

    def reset(self, units: Sequence[str]) -> list[int]:
        self._recount(units)
        return list(self._encode(units))

    def locate(self, units: Sequence[str], ids: list[int], edit: Edit) -> Splice:
        op, position, word = edit
        # [start, stop): the chunk(s) the edit touches, bounded by whitespace or the text's ends.
        start, stop = position, position if op == "insert" else position + 1
        while start and not units[start - 1].isspace():
            start -= 1
        while stop < len(units) and not units[stop].isspace():
            stop += 1
        rest = position if op == "insert" else position + 1
        middle = [*units[start:position], *([] if op == "delete" else [word]), *units[rest:stop]]
        return self._before[start], self._before[stop], self._encode(middle)

    def apply(self, units: list[str], ids: list[int], edit: Edit) -> Splice:
        splice = super().apply(units, ids, edit)
        self._recount(units)
        return splice


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
        if isinstance(splitter, PerChunk):
            return self._edit_scores_per_place(words)
        if not isinstance(splitter, PerUnit):
            return super().edit_scores(words)
        # Words without reference items score alike (for one item count): they are scored once,
        # as zeros, as are words with the same items. Deleting is writing no items.
        pieces = [_alike(p) for p in map(splitter.piece, words)]
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

    def _edit_scores_per_place(self, words: Sequence[str]) -> EditScores:
        """:meth:`edit_scores` for a splitter whose splice place does not depend on the word
        written: the edits at one place are scored in one batch of their distinct pieces."""
        units, ids, locate = self._units, self._ids, self._splitter.locate
        n, k = len(units), len(words)
        tables = {"delete": np.empty((n, 1)), "insert": np.empty((n + 1, k)), "replace": np.empty((n, k))}
        for op, table in tables.items():
            for position in range(len(table) if table.shape[1] else 0):  # no words: nothing to score
                edits = [Edit(op, position)] if op == "delete" else [Edit(op, position, w) for w in words]
                splices = [locate(units, ids, edit) for edit in edits]
                pieces = [_alike(piece) for _, _, piece in splices]
                unique = list(dict.fromkeys(pieces))
                start, stop, _ = splices[0]
                scores = dict(zip(unique, self._scores_at(ids, start, stop, unique)))
                table[position] = [scores[piece] for piece in pieces]
        return EditScores(tables["delete"][:, 0], tables["insert"], tables["replace"])


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


def _alike(piece: Piece) -> Piece:
    """Pieces without reference items score alike for one length: one stands for them all."""
    return piece if any(piece) else (0,) * len(piece)
