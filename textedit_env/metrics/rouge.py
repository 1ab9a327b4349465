"""Incremental ROUGE-1, ROUGE-2 and ROUGE-L F-measures, bit-identical to rouge-score.

``RougeScorer([m], use_stemmer).score(target=ref, prediction=hyp)[m].fmeasure``: the integer
statistics (clipped n-gram overlap, LCS length, token counts) are exact and go through the
same float operations as ``_score_ngrams`` / ``_score_lcs`` with rouge-score's own
``fmeasure``. :class:`RougeScorer` can also hold a weighted mix of the three types, which
then share one tokenized hypothesis; the mix is a sum of those exact values, so it is within
1e-12 (not necessarily bit-identical) of the same sum taken in another order.

Tokens: rouge-score lowercases, turns every run of characters outside ``[a-z0-9]`` into a
space and splits, so the tokens of a text are the concatenation of the tokens of its
whitespace-separated chunks. Word units therefore keep tokens per word; character units
retokenize the joined text chunk by chunk (each chunk cached) and diff the tokens.

ROUGE-L: the LCS length uses the bit-parallel algorithm of Allison-Dix/Hyyrö with Python
ints as bit vectors over the reference; the bit vector after every hypothesis prefix is
kept, so an edit at token i only recomputes from i on.
"""

from __future__ import annotations

from functools import lru_cache, partial
from itertools import chain
from typing import Sequence

from rouge_score.scoring import fmeasure
from rouge_score.tokenizers import DefaultTokenizer

from textedit_env.metrics.base import join_units
from textedit_env.metrics.ngrams import NgramMatcher, Seq, Splice
from textedit_env.metrics.splice import PerUnit, Retokenize, SpliceScorer, Splitter, join_tuples

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@lru_cache(maxsize=None)
def _tokenizer(use_stemmer: bool) -> DefaultTokenizer:
    return DefaultTokenizer(use_stemmer)


@lru_cache(maxsize=1 << 16)
def chunk_tokens(use_stemmer: bool, chunk: str) -> tuple[str, ...]:
    """rouge-score's tokens of one word (or any text), cached: stemming is slow."""
    return tuple(_tokenizer(use_stemmer).tokenize(chunk))


def text_tokens(use_stemmer: bool, text: str) -> tuple[str, ...]:
    return tuple(chain.from_iterable(chunk_tokens(use_stemmer, c) for c in text.split()))


def _splitter(unit: str, use_stemmer: bool) -> Splitter:
    # partial, not closures: scorers (and the environments holding them) must pickle.
    if unit == "word":
        return PerUnit(partial(chunk_tokens, use_stemmer), join_tuples)
    return Retokenize(partial(text_tokens, use_stemmer), unit)


class RougeScorer(SpliceScorer):
    """A weighted sum of ROUGE F-measures, ``{type: weight}`` over rouge1, rouge2, rougeL.

    The types share one tokenized hypothesis, which is what makes a mix of them cheap. With a
    single type of weight 1.0 the score is that type's F-measure exactly.
    """

    def __init__(
        self, weights: dict[str, float], reference_units: Sequence[str], *, unit: str = "word", use_stemmer: bool = False
    ) -> None:
        unknown = set(weights) - set(ROUGE_TYPES)
        if unknown:
            raise ValueError(f"unknown ROUGE types {sorted(unknown)}; expected some of {ROUGE_TYPES}")
        self._weights = dict(weights)
        self._orders = tuple(int(t[5:]) for t in weights if t != "rougeL")
        # (n, weight) per type, n = 0 for ROUGE-L: parsed once, not on every score.
        self._terms = [(0 if t == "rougeL" else int(t[5:]), w) for t, w in weights.items()]
        reference = text_tokens(use_stemmer, join_units(reference_units, unit))
        self._ref_len = len(reference)
        self._matcher = NgramMatcher(reference, self._orders or (1,))
        self._full = (1 << len(reference)) - 1
        self._masks: dict[str, int] = {}  # token -> bits of the reference positions holding it
        for i, token in enumerate(reference):
            self._masks[token] = self._masks.get(token, 0) | (1 << i)
        self._states: list[int] = [self._full]  # LCS bit vector after each hypothesis prefix
        super().__init__(_splitter(unit, use_stemmer))

    def _advance(self, state: int, tokens: Seq) -> list[int]:
        """LCS bit vectors after each of ``tokens``, starting from ``state``."""
        masks, full, states = self._masks, self._full, []
        for token in tokens:
            match = state & masks.get(token, 0)
            if match:
                state = ((state + match) | (state - match)) & full
            states.append(state)
        return states

    def _value(self, hyp_len: int, matches: list[int], lcs_state: int) -> float:
        """The weighted F-measures, each with rouge-score's float operations."""
        ref_len, total = self._ref_len, 0.0
        for n, weight in self._terms:
            if n:  # ROUGE-n
                precision = matches[n] / max(hyp_len - n + 1, 1)
                recall = matches[n] / max(ref_len - n + 1, 1)
            elif ref_len and hyp_len:  # ROUGE-L
                lcs = ref_len - lcs_state.bit_count()
                precision, recall = lcs / hyp_len, lcs / ref_len
            else:
                continue  # an empty side: F = 0
            total += weight * fmeasure(precision, recall)
        return total

    def _rebuild(self, seq: Seq) -> float:
        self._matcher.reset(seq)
        if "rougeL" in self._weights:
            self._states = [self._full] + self._advance(self._full, seq)
        return self._value(len(seq), self._matcher.matches, self._states[-1])

    def _peek(self, seq: Seq, splice: Splice) -> float:
        matches = self._matcher.matches_after(seq, splice) if self._orders else self._matcher.matches
        state = self._states[-1]
        if "rougeL" in self._weights:
            state = self._states[splice.start]
            rest = splice.new + seq[splice.stop :]
            state = self._advance(state, rest)[-1] if rest else state
        return self._value(splice.length_after(seq), matches, state)

    def _commit(self, seq: Seq, splice: Splice) -> float:
        if self._orders:
            self._matcher.splice(seq, splice)
        if "rougeL" in self._weights:
            del self._states[splice.start + 1 :]
            self._states += self._advance(self._states[-1], splice.new + seq[splice.stop :])
        return self._value(splice.length_after(seq), self._matcher.matches, self._states[-1])
