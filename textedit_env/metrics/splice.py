"""From unit edits to splices of a metric's item sequence, and the scorers built on that.

Each incremental metric scores a sequence of items (BLEU/ROUGE tokens, chrF characters)
derived from the units. A :class:`Splitter` turns one unit edit into the
:class:`~textedit_env.metrics.ngrams.Splice` of that sequence, in one of two ways:

- :class:`PerUnit`: the items of the joined text are the concatenation of each unit's items
  (true for chrF always, and for word units with BLEU's 13a/char/none tokenizers and
  ROUGE's tokenizer), so the splice is the edited unit's items, found from per-unit lengths.
- :class:`Retokenize`: otherwise (character units, or tokenizers whose result depends on
  neighbouring words), the edited text is tokenized from scratch and the splice is what
  differs between old and new items after their common prefix and suffix. Still exact;
  the n-gram update after it stays local.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from itertools import chain
from typing import Callable, Iterable, Sequence

from textedit_env.metrics.base import OPS, Edit, Scorer, join_units
from textedit_env.metrics.ngrams import NgramMatcher, Seq, Splice


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


def join_tuples(pieces: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(chain.from_iterable(pieces))


class Splitter(ABC):
    """Holds the item sequence ``seq`` of the current units."""

    seq: Seq

    @abstractmethod
    def reset(self, units: Sequence[str]) -> None:
        """Derive ``seq`` from the whole hypothesis."""

    @abstractmethod
    def locate(self, units: Sequence[str], edit: Edit) -> Splice:
        """The splice of ``seq`` that ``edit`` of ``units`` causes; nothing changes."""

    def commit(self, edit: Edit, splice: Splice) -> None:
        """Record an applied edit and its splice (from :meth:`locate`)."""
        self.seq = splice.applied_to(self.seq)


class PerUnit(Splitter):
    """Items of the text are the concatenation of the items of each unit."""

    def __init__(self, items: Callable[[str], Seq], join: Callable[[Iterable[Seq]], Seq]) -> None:
        self._items = items
        self._join = join
        self._lengths: list[int] = []  # items per unit, to find where a unit's items start

    def reset(self, units: Sequence[str]) -> None:
        pieces = [self._items(u) for u in units]
        self._lengths = [len(p) for p in pieces]
        self.seq = self._join(pieces)

    def locate(self, units: Sequence[str], edit: Edit) -> Splice:
        start = sum(self._lengths[: edit.position])
        stop = start if edit.op == "insert" else start + self._lengths[edit.position]
        new = self.seq[:0] if edit.op == "delete" else self._items(edit.word)
        return Splice(start, stop, new)

    def commit(self, edit: Edit, splice: Splice) -> None:
        super().commit(edit, splice)
        if edit.op == "insert":
            self._lengths.insert(edit.position, len(splice.new))
        elif edit.op == "delete":
            del self._lengths[edit.position]
        else:
            self._lengths[edit.position] = len(splice.new)


class Retokenize(Splitter):
    """Items come from the whole joined text; a splice is the difference of two tokenizations."""

    def __init__(self, items: Callable[[str], Seq], unit: str) -> None:
        self._items = items
        self._unit = unit

    def reset(self, units: Sequence[str]) -> None:
        self.seq = self._items(join_units(units, self._unit))

    def locate(self, units: Sequence[str], edit: Edit) -> Splice:
        old, new = self.seq, self._items(join_units(edited(units, edit), self._unit))
        shortest = min(len(old), len(new))
        head = 0
        while head < shortest and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        return Splice(head, len(old) - tail, new[head : len(new) - tail])


class SpliceScorer(Scorer):
    """A scorer whose statistics follow the splices of its splitter's sequence."""

    def __init__(self, splitter: Splitter) -> None:
        self._splitter = splitter
        self._units: list[str] = []
        self.set_hypothesis([])

    @abstractmethod
    def _rebuild(self, seq: Seq) -> float:
        """Recompute the statistics of ``seq`` from scratch; return its score."""

    @abstractmethod
    def _peek(self, seq: Seq, splice: Splice) -> float:
        """Score after ``splice`` of ``seq``, statistics unchanged."""

    @abstractmethod
    def _commit(self, seq: Seq, splice: Splice) -> float:
        """Update the statistics for ``splice`` of ``seq``; return the new score."""

    def set_hypothesis(self, units: Sequence[str]) -> float:
        self._units = list(units)
        self._splitter.reset(self._units)
        self._score = self._rebuild(self._splitter.seq)
        return self._score

    @property
    def score(self) -> float:
        return self._score

    def apply(self, edit: Edit) -> float:
        check_edit(edit, len(self._units))
        splice = self._splitter.locate(self._units, edit)
        self._score = self._commit(self._splitter.seq, splice)
        self._splitter.commit(edit, splice)
        edit.apply(self._units)
        return self._score

    def preview(self, edits: Sequence[Edit]) -> list[float]:
        units, seq, locate = self._units, self._splitter.seq, self._splitter.locate
        scores = []
        for edit in edits:
            check_edit(edit, len(units))
            scores.append(self._peek(seq, locate(units, edit)))
        return scores


class NgramScorer(SpliceScorer):
    """A metric that is a function of the hypothesis length and its clipped n-gram matches."""

    def __init__(self, splitter: Splitter, reference: Seq, orders: tuple[int, ...]) -> None:
        self._matcher = NgramMatcher(reference, orders)
        super().__init__(splitter)

    @abstractmethod
    def _value(self, hyp_len: int, matches: list[int]) -> float:
        """The metric from the hypothesis length and ``matches[n]`` per order n."""

    def _rebuild(self, seq: Seq) -> float:
        self._matcher.reset(seq)
        return self._value(len(seq), self._matcher.matches)

    def _peek(self, seq: Seq, splice: Splice) -> float:
        return self._value(splice.length_after(seq), self._matcher.matches_after(seq, splice))

    def _commit(self, seq: Seq, splice: Splice) -> float:
        self._matcher.splice(seq, splice)
        return self._value(splice.length_after(seq), self._matcher.matches)
