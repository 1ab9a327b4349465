"""Incremental sentence BLEU, bit-identical to ``sacrebleu.sentence_bleu(hyp, [ref, ...]).score / 100``.

Settings are sentence_bleu's: the chosen tokenizer, case-sensitive, max order 4, ``exp``
smoothing, effective order. The statistics (hypothesis length, clipped matches c_1..c_4)
are integers kept exact by :class:`NgramMatcher`; :func:`bleu_from_stats` repeats
``BLEU.compute_bleu``'s float operations in the same order (so the value is the same float,
not just close) and is memoized on the integer statistics.

Tokenization: with word units and the ``13a``, ``char`` or ``none`` tokenizer, a word
tokenizes the same alone as inside the sentence (each word is padded by the spaces that
separate it), so tokens are kept per word and cached per word string; such words must not
contain whitespace. ``intl`` and ``zh`` do not pad the line, so a word's tokens can depend on
its place (``intl`` keeps ``5.`` whole at the end of a line but splits it before a space),
and other tokenizers are unknown here. Character units with the ``char`` tokenizer (their
default) are per unit too: every character is its own token, and whitespace none. The rest
(character units with another tokenizer, ``intl``, ``zh``...) retokenize the whole text on
every edit and diff the tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache, lru_cache, partial
from itertools import chain

from sacrebleu.metrics.bleu import BLEU

from textedit_env.metrics.base import join_units
from textedit_env.metrics.ngrams import reference_ngrams
from textedit_env.metrics.splice import NgramScorer, PerUnit, Retokenize, Splitter

MAX_ORDER = 4
# Tokenizers for which tokenizing each whitespace-free word alone equals tokenizing the line.
PER_WORD_TOKENIZERS = frozenset({"13a", "char", "none"})


def check_tokenizer(tokenize: str) -> None:
    if tokenize not in BLEU.TOKENIZERS:
        raise ValueError(f"unknown BLEU tokenizer {tokenize!r}; sacrebleu accepts {sorted(BLEU.TOKENIZERS)}")


@cache
def sacrebleu_bleu(tokenize: str) -> BLEU:
    """The BLEU object ``sentence_bleu`` would build, created once per tokenizer."""
    check_tokenizer(tokenize)
    try:
        return BLEU(tokenize=tokenize, effective_order=True)
    except Exception as err:  # e.g. ja-mecab without its optional dependency
        raise ValueError(f"BLEU tokenizer {tokenize!r} is unavailable: {err}") from err


def line_tokens(tokenize: str, text: str) -> tuple[str, ...]:
    """Tokens of a whole line, exactly as sacrebleu's BLEU preprocesses a segment."""
    return tuple(sacrebleu_bleu(tokenize)._preprocess_segment(text).split())


@lru_cache(maxsize=1 << 16)
def word_tokens(tokenize: str, word: str) -> tuple[str, ...]:
    """Tokens of one whitespace-free word, cached per word string."""
    if any(ch.isspace() for ch in word):
        raise ValueError(f"word unit {word!r} contains whitespace; word units are whitespace-free")
    if tokenize == "13a" and word.isalnum():
        return (word,)  # 13a's rules all need ASCII punctuation: letters and digits pass as one token
    return tuple(sacrebleu_bleu(tokenize).tokenizer(word).split())


def char_unit_tokens(unit: str) -> tuple[str, ...]:
    """Tokens of one character unit under the ``char`` tokenizer: the character, none for a space."""
    return () if unit.isspace() else (unit,)


@lru_cache(maxsize=1 << 18)
def bleu_from_stats(ref_len: int, hyp_len: int, correct: tuple[int, int, int, int]) -> float:
    """``BLEU.compute_bleu(...).score / 100`` for exp smoothing and effective order."""
    if not any(correct):
        return 0.0
    bp = 1.0
    if hyp_len < ref_len:
        bp = math.exp(1 - ref_len / hyp_len)  # hyp_len > 0 here: there is a match
    logs = []
    smooth_mteval = 1.0
    for n, matched in enumerate(correct, start=1):
        total = hyp_len - n + 1
        if total <= 0:
            break
        if matched == 0:
            smooth_mteval *= 2
            logs.append(math.log(100.0 / (smooth_mteval * total)))
        else:
            logs.append(math.log(100.0 * matched / total))
    return bp * math.exp(sum(logs) / len(logs)) / 100


def closest_ref_len(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """sacrebleu's reference length for BLEU with several references: the closest to the hypothesis
    length, the shorter of two as close."""
    return min(ref_lens, key=lambda ref_len: (abs(hyp_len - ref_len), ref_len))


class BleuScorer(NgramScorer):
    """BLEU against one reference or several (``sentence_bleu(hyp, [ref1, ref2, ...])``: each n-gram
    clipped by its highest count in one reference, the brevity penalty from the closest length)."""

    def __init__(self, *references: Sequence[str], unit: str = "word", tokenize: str = "13a") -> None:
        per_word = unit == "word" and tokenize in PER_WORD_TOKENIZERS
        if per_word:  # the words' cached tokens: a new reference is seldom made of new words
            tokens = [tuple(chain.from_iterable(word_tokens(tokenize, w) for w in ref)) for ref in references]
        else:
            tokens = [line_tokens(tokenize, join_units(ref, unit)) for ref in references]
        reference = reference_ngrams(tokens[0], MAX_ORDER, *tokens[1:])
        self._ref_lens = reference.lengths
        # partial, not closures: scorers (and the environments holding them) must pickle.
        if per_word:
            splitter: Splitter = PerUnit(partial(word_tokens, tokenize), reference)
        elif unit == "char" and tokenize == "char":
            splitter = PerUnit(char_unit_tokens, reference)
        else:
            splitter = Retokenize(partial(line_tokens, tokenize), reference, unit)
        super().__init__(splitter, reference)

    def _value(self, hyp_len: int, matches: list[int]) -> float:
        ref_lens = self._ref_lens
        ref_len = ref_lens[0] if len(ref_lens) == 1 else closest_ref_len(hyp_len, ref_lens)
        return bleu_from_stats(ref_len, hyp_len, tuple(matches[1:]))
