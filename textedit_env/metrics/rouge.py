"""Incremental ROUGE-1, ROUGE-2 and ROUGE-L F-measures, bit-identical to rouge-score.

``RougeScorer([m], use_stemmer).score(target=ref, prediction=hyp)[m].fmeasure``: the integer
statistics (clipped n-gram overlap, LCS length, token counts) are exact and go through the
same float operations as ``_score_ngrams`` / ``_score_lcs`` with rouge-score's own
``fmeasure``. :class:`IncrementalRouge` can also hold a weighted mix of the three types, which
then share one tokenized hypothesis; the mix is a sum of those exact values, so it is within
1e-12 (not necessarily bit-identical) of the same sum taken in another order.

Tokens: rouge-score lowercases, turns every run of characters outside ``[a-z0-9]`` into a
space and splits, so the tokens of a text are the concatenation of the tokens of its
whitespace-separated chunks. Word units therefore keep tokens per word; character units
retokenize only the chunk(s) an edit touches (each chunk's tokens cached).

ROUGE-L: the LCS length uses the bit-parallel algorithm of Allison-Dix/Hyyrö with Python
ints as bit vectors over the reference (:class:`LcsTracker`); the bit vector after every
hypothesis prefix is kept, so an edit at token i only recomputes from i on, and only until the
new vectors meet the old ones (from there on the two runs are the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache, partial
from itertools import chain

from rouge_score.scoring import fmeasure
from rouge_score.tokenizers import DefaultTokenizer

from textedit_env.metrics.base import join_units
from textedit_env.metrics.ngrams import NgramMatcher, Piece, ReferenceNgrams, reference_ngrams
from textedit_env.metrics.splice import PerChunk, PerUnit, SpliceScorer, Splitter

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@cache
def _tokenizer(use_stemmer: bool) -> DefaultTokenizer:
    return DefaultTokenizer(use_stemmer)


@lru_cache(maxsize=1 << 16)
def chunk_tokens(use_stemmer: bool, chunk: str) -> tuple[str, ...]:
    """rouge-score's tokens of one word (or any text), cached: stemming is slow."""
    return tuple(_tokenizer(use_stemmer).tokenize(chunk))


def text_tokens(use_stemmer: bool, text: str) -> tuple[str, ...]:
    return tuple(chain.from_iterable(chunk_tokens(use_stemmer, c) for c in text.split()))


def _splitter(unit: str, use_stemmer: bool, reference: ReferenceNgrams) -> Splitter:
    # partial, not closures: scorers (and the environments holding them) must pickle.
    if unit == "word":
        return PerUnit(partial(chunk_tokens, use_stemmer), reference)
    return PerChunk(partial(chunk_tokens, use_stemmer), reference)


class LcsTracker:
    """LCS length of the hypothesis ids and the reference, kept per hypothesis prefix.

    ``states[i]`` is the bit vector after the first i hypothesis items; the LCS length is the
    number of its zero bits. An item outside the reference (id 0) leaves a vector unchanged.
    """

    def __init__(self, reference: ReferenceNgrams) -> None:
        self._masks = [0] * reference.base  # id -> bits of the reference positions holding it
        for position, item in enumerate(reference.ids):
            self._masks[item] |= 1 << position
        self._ref_len = len(reference.ids)
        self._full = (1 << self._ref_len) - 1
        self.states = [self._full]

    def lcs(self, state: int) -> int:
        return self._ref_len - state.bit_count()

    def _run(self, state: int, piece: Piece, ids: list[int], stop: int, record: list[int]) -> tuple[int, int]:
        """Run ``state`` over ``piece`` then ``ids[stop:]``, appending each vector to ``record``,
        until it meets ``states`` at the same suffix position (the rest is then the same).
        Returns (the final vector, the index of ``ids`` where the run stopped)."""
        masks, full, states = self._masks, self._full, self.states
        for item in piece:
            match = state & masks[item]
            if match:
                state = ((state + match) | (state - match)) & full
            record.append(state)
        for j in range(stop, len(ids)):
            if state == states[j]:
                return states[-1], j
            match = state & masks[ids[j]]
            if match:
                state = ((state + match) | (state - match)) & full
            record.append(state)
        return state, len(ids)

    def reset(self, ids: list[int]) -> None:
        self.states = [self._full]
        self.splice([], 0, 0, tuple(ids))  # the run over a piece never stops early

    def splice(self, ids: list[int], start: int, stop: int, piece: Piece) -> None:
        """Follow ``ids[start:stop] = piece`` (``ids`` is the sequence before it)."""
        record: list[int] = []
        _, met = self._run(self.states[start], piece, ids, stop, record)
        self.states[start + 1 : met + 1] = record

    def finals_each(self, ids: list[int], start: int, stop: int, pieces: Sequence[Piece]) -> list[int]:
        """The final vector after ``ids[start:stop] = piece``, for each piece alone."""
        state = self.states[start]
        skipped = None  # a piece without reference items changes nothing: shared
        finals = []
        for piece in pieces:
            if any(piece):
                finals.append(self._run(state, piece, ids, stop, [])[0])
            else:
                if skipped is None:
                    skipped = self._run(state, (), ids, stop, [])[0]
                finals.append(skipped)
        return finals


class IncrementalRouge(SpliceScorer):
    """A weighted sum of ROUGE F-measures, ``{type: weight}`` over rouge1, rouge2, rougeL.

    The types share one tokenized hypothesis, which is what makes a mix of them cheap. With a
    single type of weight 1.0 the score is that type's F-measure exactly.
    """

    def __init__(
        self,
        weights: dict[str, float],
        reference_units: Sequence[str],
        *,
        unit: str = "word",
        use_stemmer: bool = False,
    ) -> None:
        unknown = set(weights) - set(ROUGE_TYPES)
        if unknown:
            raise ValueError(f"unknown ROUGE types {sorted(unknown)}; expected some of {ROUGE_TYPES}")
        # (n, weight) per type, n = 0 for ROUGE-L: parsed once, not on every score.
        self._terms = [(0 if t == "rougeL" else int(t[5:]), w) for t, w in weights.items()]
        max_order = max(n for n, _ in self._terms)
        reference = reference_ngrams(text_tokens(use_stemmer, join_units(reference_units, unit)), max(max_order, 1))
        self._ref_len = len(reference.ids)
        self._matcher = NgramMatcher(reference) if max_order else None
        self._lcs = LcsTracker(reference) if "rougeL" in weights else None
        super().__init__(_splitter(unit, use_stemmer, reference))

    def _value(self, hyp_len: int, matches: list[int] | None, lcs_state: int) -> float:
        """The weighted F-measures, each with rouge-score's float operations."""
        ref_len, total = self._ref_len, 0.0
        for n, weight in self._terms:
            if n:  # ROUGE-n
                precision = matches[n] / max(hyp_len - n + 1, 1)
                recall = matches[n] / max(ref_len - n + 1, 1)
            elif ref_len and hyp_len:  # ROUGE-L
                lcs = self._lcs.lcs(lcs_state)
                precision, recall = lcs / hyp_len, lcs / ref_len
            else:
                continue  # an empty side: F = 0
            total += weight * fmeasure(precision, recall)
        return total

    def _rebuild(self, ids: list[int]) -> float:
        if self._matcher:
            self._matcher.reset(ids)
        if self._lcs:
            self._lcs.reset(ids)
        return self._current(len(ids))

    def _current(self, hyp_len: int) -> float:
        matches = self._matcher.matches if self._matcher else None
        return self._value(hyp_len, matches, self._lcs.states[-1] if self._lcs else 0)

    def _commit(self, ids: list[int], start: int, stop: int, piece: Piece) -> float:
        if self._matcher:
            self._matcher.splice(ids, start, stop, piece)
        if self._lcs:
            self._lcs.splice(ids, start, stop, piece)
        return self._current(len(ids) - (stop - start) + len(piece))

    def _scores_at(self, ids: list[int], start: int, stop: int, pieces: Sequence[Piece]) -> list[float]:
        count = len(pieces)
        each = self._matcher.matches_each(ids, start, stop, pieces) if self._matcher else [None] * count
        finals = self._lcs.finals_each(ids, start, stop, pieces) if self._lcs else [0] * count
        rest = len(ids) - (stop - start)
        return [self._value(rest + len(p), m, f) for p, m, f in zip(pieces, each, finals)]
