"""Reference values straight from the libraries, and the naive scorer that uses them.

:func:`library_score` is the single definition of "what the libraries say" that the
incremental scorers are checked against. :class:`LibraryScorer` rescores the joined strings
after every edit: the verification baseline, and the slow side of the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics.chrf import CHRF

from textedit_env.metrics.base import Edit, Scorer, join_units
from textedit_env.metrics.bleu import sacrebleu_bleu
from textedit_env.metrics.splice import check_edit, edited


@cache
def _chrf() -> CHRF:
    return CHRF()  # sentence_chrf's defaults


@cache
def _rouge(metric: str, use_stemmer: bool) -> RougeScorer:
    return RougeScorer([metric], use_stemmer=use_stemmer)


def library_text_score(
    metric: str, hyp: str, ref: str, *other_refs: str, tokenize: str = "13a", use_stemmer: bool = False
) -> float:
    """The library's value of ``metric`` for a hypothesis and one or more references (strings), on
    the 0-1 scale: sacrebleu's multi-reference BLEU and chrF, rouge-score's ``score_multi``."""
    refs = [ref, *other_refs]
    if metric == "bleu":
        # Same object sacrebleu.sentence_bleu builds: exp smoothing, effective order.
        return sacrebleu_bleu(tokenize).sentence_score(hyp, refs).score / 100
    if metric == "chrf":
        return _chrf().sentence_score(hyp, refs).score / 100
    return float(_rouge(metric, use_stemmer).score_multi(refs, hyp)[metric].fmeasure)


def library_score(
    metric: str,
    hyp_units: Sequence[str],
    ref_units: Sequence[str],
    *other_refs: Sequence[str],
    unit: str = "word",
    tokenize: str = "13a",
    use_stemmer: bool = False,
) -> float:
    """The library's value of ``metric`` for the joined units against one reference or more."""
    refs = [join_units(ref, unit) for ref in (ref_units, *other_refs)]
    return library_text_score(metric, join_units(hyp_units, unit), *refs, tokenize=tokenize, use_stemmer=use_stemmer)


class LibraryScorer(Scorer):
    """Calls the library on the whole joined text for every score."""

    def __init__(
        self,
        metric: str,
        *references: Sequence[str],
        unit: str = "word",
        tokenize: str = "13a",
        use_stemmer: bool = False,
    ) -> None:
        self._metric = metric
        self._unit = unit
        self._refs = [join_units(reference, unit) for reference in references]
        self._options = {"tokenize": tokenize, "use_stemmer": use_stemmer}
        self.set_hypothesis([])

    def _eval(self, units: Sequence[str]) -> float:
        return library_text_score(self._metric, join_units(units, self._unit), *self._refs, **self._options)

    def set_hypothesis(self, units: Sequence[str]) -> float:
        self._units = list(units)
        self._score = self._eval(self._units)
        return self._score

    @property
    def score(self) -> float:
        return self._score

    def __len__(self) -> int:
        return len(self._units)

    def apply(self, edit: Edit) -> float:
        check_edit(edit, len(self._units))
        edit.apply(self._units)
        self._score = self._eval(self._units)
        return self._score

    def preview(self, edits: Sequence[Edit]) -> list[float]:
        scores = []
        for edit in edits:
            check_edit(edit, len(self._units))
            scores.append(self._eval(edited(self._units, edit)))
        return scores
