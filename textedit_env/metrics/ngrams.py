"""Clipped n-gram matches kept up to date while the hypothesis sequence is spliced.

BLEU (word n-grams 1-4), ROUGE-N (orders 1-2) and chrF (character n-grams 1-6) all need
``sum over n-grams g of min(hyp_count(g), ref_count(g))`` per order. Replacing
``ids[start:stop]`` changes only the n-grams that overlap the replaced span (or straddle it,
when it is empty), so order n looks at most n-1 items to either side of the span.

Items (word tokens or characters) are integers here: the reference's distinct items get ids
1..V and every other item 0. An n-gram of ids d_1..d_n is the integer key
``d_1 * B**(n-1) + ... + d_n`` with ``B = V + 1``: its base-B digits, all non-zero, so keys
of different orders never collide, and hashing an int is cheaper than hashing a tuple of
strings. Only n-grams that occur in the reference are counted on the hypothesis side (no
other n-gram can match, and n-gram totals follow from the length alone), and every prefix of
a reference n-gram is a reference n-gram: an n-gram walk from one start position stops at the
first prefix that is not one, which for an item outside the reference is at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain

Seq = tuple[str, ...]
Piece = tuple[int, ...]


class ReferenceNgrams:
    """Item ids and n-gram counts (every order up to ``max_order``) of a reference, or of several:
    then an n-gram's count is its highest in any one of them, which is how multi-reference BLEU clips."""

    def __init__(self, references: Sequence[Seq], max_order: int) -> None:
        self.max_order = max_order
        self.item_ids = {item: i for i, item in enumerate(dict.fromkeys(chain.from_iterable(references)), start=1)}
        self.base = len(self.item_ids) + 1
        self.lengths = [len(reference) for reference in references]
        first, *others = [self._count(reference) for reference in references]
        self.counts: dict[int, int] = dict(first)  # n-gram key -> count, orders 1..max_order
        for counts in others:
            for key, count in counts.items():
                if count > self.counts.get(key, 0):
                    self.counts[key] = count
        self.ids = [self.item_ids[item] for item in references[0]]  # the first reference's items

    def _count(self, reference: Seq) -> Counter:
        ids = [self.item_ids[item] for item in reference]
        keys = every = ids
        for n in range(2, self.max_order + 1):
            keys = [key * self.base + item for key, item in zip(keys, ids[n - 1 :])]
            every = every + keys
        return Counter(every)

    def encode(self, items: Iterable[str]) -> Piece:
        """Ids of items: 0 for an item no reference holds."""
        ids = self.item_ids
        return tuple([ids.get(item, 0) for item in items])


@lru_cache(maxsize=4096)
def reference_ngrams(reference: Seq, max_order: int, *others: Seq) -> ReferenceNgrams:
    """Shared by every scorer of the same reference(s): read-only."""
    return ReferenceNgrams((reference, *others), max_order)


class NgramMatcher:
    """Clipped match counts of a hypothesis (a list of item ids) against one reference.

    ``matches[n]`` is the clipped match count of order n, for n = 1..max_order (index 0 is
    unused). For each reference n-gram the matcher keeps its *room*, reference count minus
    hypothesis count, and moves it one n-gram at a time: adding one is a match when the room
    was positive, removing one takes a match away when the room becomes positive. That is
    ``min(hyp, ref)`` summed, kept exact, with one dict lookup per n-gram.
    """

    def __init__(self, reference: ReferenceNgrams) -> None:
        self.reference = reference
        self._room = dict(reference.counts)
        self.matches = [0] * (reference.max_order + 1)

    def reset(self, ids: Sequence[int]) -> None:
        self._room = dict(self.reference.counts)
        self.matches = [0] * len(self.matches)
        self._extend([(0, 0, 0)], ids, len(ids), 1)

    def _chains(self, ids: list[int], start: int) -> list[tuple[int, int, int]]:
        """Where the n-grams through position ``start`` can begin: ``(p, key, 0)`` for each p < max
        order such that ``ids[start-p:start]`` is a reference n-gram, its key, from p = 0 up.

        A substring of a reference n-gram occurs in the reference too, so p grows until the
        first failure; any longer context cannot begin a reference n-gram that reaches ``start``.
        """
        known, base = self.reference.counts, self.reference.base
        chains, key, power = [(0, 0, 0)], 0, 1
        for i in range(start - 1, max(start - self.reference.max_order, -1), -1):
            item = ids[i]
            key += item * power
            if not item or key not in known:
                break
            chains.append((start - i, key, 0))
            power *= base
        return chains

    def _extend(self, chains: list[tuple[int, int, int]], tail: Sequence[int], span: int, sign: int) -> None:
        """Add (sign 1) or remove (sign -1) the reference n-grams that overlap the span
        ``tail[:span]`` (that straddle its place when it is empty), ``tail`` being the span
        and the items after it. A removed n-gram was counted before.

        Each n-gram starts at a chain (the context before the span, see :meth:`_chains`) or
        inside the span, and is walked item by item into ``tail`` until it leaves the
        reference's n-grams (an item outside the reference, id 0, ends it at once).
        """
        if span and not any(tail[:span]):
            return  # every affected n-gram holds an item outside the reference
        if span > 1:
            chains = chains + [(0, 0, offset) for offset in range(1, span)]
        elif not span:
            chains = chains[1:]  # an empty span: only n-grams from before it, across it
        room, matches = self._room, self.matches
        base, order = self.reference.base, self.reference.max_order
        for n, key, offset in chains:
            for item in tail[offset : offset + order - n]:
                key = key * base + item
                left = room.get(key)
                if left is None:
                    break  # no reference n-gram starts with this one
                n += 1
                room[key] = left - sign
                # The room while the n-gram is absent: before adding it, after removing it.
                if (left if sign > 0 else left + 1) > 0:
                    matches[n] += sign

    def splice(self, ids: list[int], start: int, stop: int, piece: Piece) -> None:
        """Count ``ids[start:stop] = piece`` (``ids`` is the sequence before it; the caller
        splices it)."""
        chains, reach = self._chains(ids, start), self.reference.max_order - 1
        self._extend(chains, ids[start : stop + reach], stop - start, -1)
        self._extend(chains, (*piece, *ids[stop : stop + reach]), len(piece), 1)

    def matches_each(self, ids: list[int], start: int, stop: int, pieces: Sequence[Piece]) -> list[list[int]]:
        """``matches`` after ``ids[start:stop] = piece``, for each piece alone; nothing changes.

        The context's chains and the removal of the old span's n-grams are shared by all pieces.
        """
        chains, reach = self._chains(ids, start), self.reference.max_order - 1
        old, right = ids[start : stop + reach], ids[stop : stop + reach]
        self._extend(chains, old, stop - start, -1)
        after = []
        for piece in pieces:
            tail = (*piece, *right)
            self._extend(chains, tail, len(piece), 1)
            after.append(self.matches[:])
            self._extend(chains, tail, len(piece), -1)
        self._extend(chains, old, stop - start, 1)
        return after
