"""Clipped n-gram matches kept up to date while the hypothesis sequence is spliced.

BLEU (word n-grams 1-4), ROUGE-N (one order) and chrF (character n-grams 1-6) all need
``sum over n-grams g of min(hyp_count(g), ref_count(g))`` per order. Replacing
``seq[start:stop]`` changes only the n-grams that overlap the replaced span, so order n
looks at most n-1 items to either side, and each affected n-gram moves the clipped count
by ``min(new, ref) - min(old, ref)``.

A sequence is a tuple of items (word tokens or characters) and an n-gram key is a tuple of
n items, so the same code serves word and character n-grams.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

Seq = tuple[str, ...]


class Splice(NamedTuple):
    """``seq[start:stop]`` is replaced by ``new``."""

    start: int
    stop: int
    new: Seq

    def applied_to(self, seq: Seq) -> Seq:
        return seq[: self.start] + self.new + seq[self.stop :]

    def length_after(self, seq: Seq) -> int:
        return len(seq) - (self.stop - self.start) + len(self.new)


@lru_cache(maxsize=4096)
def reference_counts(reference: Seq, orders: tuple[int, ...]) -> dict[Seq, int]:
    """``count_ngrams`` of a reference, shared by every scorer of it: read-only."""
    return count_ngrams(reference, orders)


def count_ngrams(seq: Seq, orders: tuple[int, ...]) -> dict[Seq, int]:
    counts: dict[Seq, int] = {}
    for n in orders:
        for i in range(len(seq) - n + 1):
            key = seq[i : i + n]
            counts[key] = counts.get(key, 0) + 1
    return counts


class NgramMatcher:
    """Clipped match counts of a hypothesis against one reference, for the given orders.

    ``matches[n]`` is the clipped match count of order n (index 0 and unused orders stay 0).
    Only n-grams that occur in the reference are tracked on the hypothesis side: the others
    never match, and n-gram totals follow from the length alone.
    """

    def __init__(self, reference: Seq, orders: tuple[int, ...]) -> None:
        self.orders = orders
        self._reach = max(orders) - 1  # how far outside a splice its n-grams extend
        self._pad = (None,) * self._reach
        self._bounds: dict[int, list[tuple[int, int]]] = {}  # span length -> n-gram slice bounds
        self.ref_counts = reference_counts(tuple(reference), orders)
        self._vocab = frozenset(reference)
        self.hyp_counts: dict[Seq, int] = {}
        self.matches = [0] * (max(orders) + 1)

    def reset(self, seq: Seq) -> None:
        ref = self.ref_counts
        self.hyp_counts = {k: c for k, c in count_ngrams(seq, self.orders).items() if k in ref}
        self.matches = [0] * len(self.matches)
        for key, count in self.hyp_counts.items():
            self.matches[len(key)] += min(count, ref[key])

    def _slices(self, span: int) -> list[tuple[int, int]]:
        """Bounds of the n-grams, all orders, of a window ``pad + span + pad`` that overlap the
        span, or straddle its position when it is empty."""
        bounds = self._bounds.get(span)
        if bounds is None:
            reach = self._reach
            # Starts from reach-n+1 (ends just inside the span) to the span's last item.
            bounds = [(i, i + n) for n in self.orders for i in range(reach + 1 - n, reach + span)]
            self._bounds[span] = bounds
        return bounds

    def _delta(self, seq: Seq, splice: Splice) -> dict[Seq, int]:
        """Change of the hypothesis count of every reference n-gram the splice touches."""
        ref, reach = self.ref_counts, self._reach
        start, stop, new = splice
        # Windows hold ``reach`` items either side of the span, padded past the ends of the
        # sequence with None (which no reference n-gram contains), so slice bounds are fixed.
        head = seq[start - reach : start] if start >= reach else self._pad[start:] + seq[:start]
        tail = seq[stop : stop + reach]
        if len(tail) < reach:
            tail += self._pad[len(tail) :]
        delta: dict[Seq, int] = {}
        for sign, span in ((-1, seq[start:stop]), (1, new)):
            # Every affected n-gram holds an item of a non-empty span: if none of those items
            # is in the reference, no affected n-gram is (the common case for random words).
            if span and self._vocab.isdisjoint(span):
                continue
            window = head + span + tail
            for a, b in self._slices(len(span)):
                key = window[a:b]
                if key in ref:
                    delta[key] = delta.get(key, 0) + sign
        return delta

    def _updated(self, delta: dict[Seq, int], store: dict[Seq, int] | None) -> list[int]:
        """Match counts after ``delta``; the new hypothesis counts go into ``store`` if given."""
        ref, hyp = self.ref_counts, self.hyp_counts
        matches = self.matches[:]
        for key, d in delta.items():
            if d:
                had = hyp.get(key, 0)
                matches[len(key)] += min(had + d, ref[key]) - min(had, ref[key])
                if store is not None:
                    store[key] = had + d
        return matches

    def matches_after(self, seq: Seq, splice: Splice) -> list[int]:
        """``matches`` as they would be after the splice; nothing changes."""
        return self._updated(self._delta(seq, splice), None)

    def splice(self, seq: Seq, splice: Splice) -> None:
        """Apply the splice to the counts (``seq`` is the sequence before it)."""
        self.matches = self._updated(self._delta(seq, splice), self.hyp_counts)
