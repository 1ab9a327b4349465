"""Incremental chrF, bit-identical to ``sacrebleu.sentence_chrf(hyp, [ref]).score / 100``.

sentence_chrf's defaults: character n-grams 1..6, no word n-grams, beta 2, whitespace
removed, effective-order averaging (no eps smoothing). Removing whitespace from the joined
text is removing it from every unit, so for word and character units alike the character
sequence is kept per unit. :func:`chrf_from_stats` repeats ``CHRF._compute_f_score``'s float
operations in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics.chrf import CHRF

from textedit_env.metrics.base import join_units
from textedit_env.metrics.ngrams import reference_ngrams
from textedit_env.metrics.splice import NgramScorer, PerUnit

ORDERS = tuple(range(1, CHRF.CHAR_ORDER + 1))
FACTOR = CHRF.BETA**2


def without_whitespace(text: str) -> tuple[str, ...]:
    """The characters chrF counts: whitespace is removed."""
    return tuple("".join(text.split()))


def chrf_from_stats(hyp_len: int, ref_totals: Sequence[int], matches: Sequence[int]) -> float:
    """chrF / 100 from the whitespace-free hypothesis length and ``matches[n]`` per order n."""
    avg_prec, avg_rec, effective_order = 0.0, 0.0, 0
    for n in ORDERS:
        hyp_total, ref_total = max(hyp_len - n + 1, 0), ref_totals[n]
        # sacrebleu counts hypothesis n-grams only when the reference has some of that order.
        if hyp_total > 0 and ref_total > 0:
            avg_prec += matches[n] / hyp_total
            avg_rec += matches[n] / ref_total
            effective_order += 1
    if effective_order == 0:
        return 0.0
    avg_prec /= effective_order
    avg_rec /= effective_order
    if not avg_prec + avg_rec:
        return 0.0
    score = (1 + FACTOR) * avg_prec * avg_rec
    score /= (FACTOR * avg_prec) + avg_rec
    return 100 * score / 100


class ChrfScorer(NgramScorer):
    def __init__(self, reference_units: Sequence[str], *, unit: str = "word") -> None:
        reference = reference_ngrams(without_whitespace(join_units(reference_units, unit)), CHRF.CHAR_ORDER)
        self._ref_totals = [0] + [max(len(reference.ids) - n + 1, 0) for n in ORDERS]
        super().__init__(PerUnit(without_whitespace, reference), reference)

    def _value(self, hyp_len: int, matches: list[int]) -> float:
        return chrf_from_stats(hyp_len, self._ref_totals, matches)
