"""The incremental metrics give the libraries' values: exactly (``==``) after every edit and
in every preview, for word and character units, every supported BLEU tokenizer and ROUGE
with and without stemming."""

from __future__ import annotations

import itertools
import math
import pickle

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.chrf import CHRF

from textedit_env.metrics import METRICS, library_score, make_scorer, parse_reward
from textedit_env.metrics.base import Edit, Scorer, join_units
from textedit_env.metrics.bleu import bleu_from_stats
from textedit_env.metrics.chrf import chrf_from_stats

# English words, punctuation and tokenizer edge cases: 13a splits "U.S." into four tokens,
# keeps "3.5", "don't", "e-mail" whole, unescapes "&amp;", drops "<skipped>" (zero tokens);
# ROUGE drops "-", '"', the CJK and emoji (zero tokens) and cuts "café" to "caf".
WORDS = [
    "the",
    "The",
    "cat",
    "cats",
    "sat",
    "on",
    "mat",
    "running",
    "runs",
    "a",
    "a",
    "dog",
    ",",
    ".",
    "!",
    "?",
    "U.S.",
    "3.5",
    "5.",
    "1,000",
    "&amp;",
    "&quot;",
    "<skipped>",
    "don't",
    "e-mail",
    "-",
    '"',
    "(hi)",
    "café",
    "我们",
    "喜欢",
    "😀",
    "x-1",
    "3-4",
    "Ph.D.",
]
CHARS = sorted(set("".join(WORDS)) | {" "})

WORD_CASES = [("bleu", tok, False) for tok in ("13a", "intl", "zh", "char", "none")]
CHAR_CASES = [("bleu", tok, False) for tok in ("13a", "zh", "char")]
for _metric in ("rouge1", "rouge2", "rougeL"):
    WORD_CASES += [(_metric, "13a", False), (_metric, "13a", True)]
    CHAR_CASES += [(_metric, "13a", False), (_metric, "13a", True)]
WORD_CASES.append(("chrf", "13a", False))
CHAR_CASES.append(("chrf", "13a", False))
CASES = [("word", *c) for c in WORD_CASES] + [("char", *c) for c in CHAR_CASES]


def texts(unit: str, max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(WORDS if unit == "word" else CHARS), max_size=max_size)


@st.composite
def edit_scripts(draw: st.DrawFn, unit: str, start_len: int) -> list[list[Edit]]:
    """Steps of candidate edits, valid for the length reached by applying each step's first."""
    pool = st.sampled_from(WORDS if unit == "word" else CHARS)
    length, steps = start_len, []
    for _ in range(draw(st.integers(1, 8))):
        candidates = []
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(("insert", "delete", "replace") if length else ("insert",)))
            top = length if op == "insert" else length - 1
            word = None if op == "delete" else draw(pool)
            candidates.append(Edit(op, draw(st.integers(0, top)), word))
        steps.append(candidates)
        length += {"insert": 1, "delete": -1, "replace": 0}[candidates[0].op]
    return steps


def check_edit_scores(scorer: Scorer, words: list[str]) -> None:
    """The batched scores of every edit equal the preview of each edit, exactly."""
    before, n, k = scorer.score, len(scorer), len(words)
    table = scorer.edit_scores(words)
    assert scorer.score == before
    assert table.delete.shape == (n,) and table.insert.shape == (n + 1, k) and table.replace.shape == (n, k)
    assert table.delete.tolist() == scorer.preview([Edit("delete", p) for p in range(n)])
    for op, grid in (("insert", table.insert), ("replace", table.replace)):
        assert grid.tolist() == [scorer.preview([Edit(op, p, w) for w in words]) for p in range(len(grid))]


def check_script(scorer: Scorer, score_of, hyp: list[str], steps: list[list[Edit]]) -> None:
    """Every preview and every applied score equals ``score_of(units)`` exactly, and the
    batched scores of every edit writing the step's words equal the previews."""
    assert scorer.set_hypothesis(hyp) == score_of(hyp)
    for candidates in steps:
        expected = []
        for edit in candidates:
            after = list(hyp)
            edit.apply(after)
            expected.append(score_of(after))
        before = scorer.score
        assert scorer.preview(candidates) == expected
        assert scorer.score == before  # preview leaves the state alone
        check_edit_scores(scorer, list(dict.fromkeys(e.word for e in candidates if e.word is not None)))
        candidates[0].apply(hyp)
        assert scorer.apply(candidates[0]) == expected[0] == scorer.score


@pytest.mark.slow
@pytest.mark.parametrize("unit,metric,tokenize,stem", CASES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_incremental_equals_library(unit: str, metric: str, tokenize: str, stem: bool, data: st.DataObject) -> None:
    size = 8 if unit == "word" else 24
    ref = data.draw(texts(unit, size), label="ref")
    # Half the time start from the reference itself: perfect and near-perfect matches.
    hyp = data.draw(st.one_of(texts(unit, size), st.just(list(ref))), label="hyp")
    steps = data.draw(edit_scripts(unit, len(hyp)), label="steps")
    options = {"unit": unit, "tokenize": tokenize, "use_stemmer": stem}
    scorer = make_scorer(metric, ref, **options)
    check_script(scorer, lambda units: library_score(metric, units, ref, **options), hyp, steps)


@pytest.mark.slow
@pytest.mark.parametrize("unit,metric,tokenize,stem", CASES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_incremental_equals_library_with_several_references(
    unit: str, metric: str, tokenize: str, stem: bool, data: st.DataObject
) -> None:
    """sacrebleu's multi-reference BLEU and chrF and rouge-score's score_multi, exactly."""
    size = 8 if unit == "word" else 24
    refs = data.draw(st.lists(texts(unit, size), min_size=2, max_size=3), label="refs")
    hyp = data.draw(st.one_of(texts(unit, size), st.sampled_from(refs).map(list)), label="hyp")
    steps = data.draw(edit_scripts(unit, len(hyp)), label="steps")
    options = {"unit": unit, "tokenize": tokenize, "use_stemmer": stem}
    scorer = make_scorer(metric, *refs, **options)
    check_script(scorer, lambda units: library_score(metric, units, *refs, **options), hyp, steps)


def test_several_references_take_the_closest_length_and_the_best_reference() -> None:
    hyp = "the cat sat on a mat"
    refs = ["a cat sat on the mat", "the cat is sitting on the mat today", "the cat sat"]
    split = [r.split() for r in refs]
    assert library_score("bleu", hyp.split(), *split) == sacrebleu.sentence_bleu(hyp, refs).score / 100
    assert library_score("chrf", hyp.split(), *split) == sacrebleu.sentence_chrf(hyp, refs).score / 100
    for metric in ("bleu", "chrf", "rouge1", "rougeL"):
        several = make_scorer(metric, *split).set_hypothesis(hyp.split())
        assert several == library_score(metric, hyp.split(), *split)
        if metric != "bleu":  # the best single reference; BLEU pools the references' n-grams instead
            assert several == max(library_score(metric, hyp.split(), r) for r in split)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("unit", ["word", "char"])
def test_fixed_cases(metric: str, unit: str) -> None:
    sentence = ["the", "cat", "sat", "on", "the", "mat", "."]
    ref = sentence if unit == "word" else list(" ".join(sentence))
    cases = {
        "empty hypothesis": [],
        "perfect match": list(ref),
        "zero match": ["xyz"] if unit == "word" else list("qqq"),
        "only dropped tokens": ["<skipped>", "-", "😀"] if unit == "word" else ["-", " ", "😀"],
    }
    for name, hyp in cases.items():
        for reference in (ref, []):
            scorer = make_scorer(metric, reference, unit=unit)
            assert scorer.set_hypothesis(hyp) == library_score(metric, hyp, reference, unit=unit), name
    assert make_scorer(metric, ref, unit=unit).set_hypothesis(ref) > 0.99


def test_library_score_matches_sentence_functions() -> None:
    hyp, ref = "The cat sat on the U.S. mat .", "the cat sat on a mat."
    assert library_score("bleu", hyp.split(), ref.split()) == sacrebleu.sentence_bleu(hyp, [ref]).score / 100
    for tok in ("zh", "intl", "char"):
        expected = sacrebleu.sentence_bleu(hyp, [ref], tokenize=tok).score / 100
        assert library_score("bleu", hyp.split(), ref.split(), tokenize=tok) == expected
    assert library_score("chrf", hyp.split(), ref.split()) == sacrebleu.sentence_chrf(hyp, [ref]).score / 100


def test_bleu_formula_is_compute_bleu() -> None:
    """Every statistic a short hypothesis can have gives compute_bleu's float, bit for bit."""
    for hyp_len, ref_len in itertools.product(range(8), range(9)):
        totals = [max(hyp_len - n, 0) for n in range(4)]
        for correct in itertools.product(*(range(t + 1) for t in totals)):
            expected = (
                BLEU.compute_bleu(
                    list(correct), list(totals), hyp_len, ref_len, smooth_method="exp", effective_order=True
                ).score
                / 100
            )
            assert bleu_from_stats(ref_len, hyp_len, correct) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 30), st.lists(st.integers(0, 30), min_size=6, max_size=6), st.data())
def test_chrf_formula_is_compute_f_score(hyp_len: int, ref_len: list[int], data: st.DataObject) -> None:
    ref_totals = [0] + [max(r - n, 0) for n, r in enumerate(ref_len)]
    hyp_totals = [max(hyp_len - n, 0) for n in range(6)]
    matches = [0] + [data.draw(st.integers(0, min(h, r))) for h, r in zip(hyp_totals, ref_totals[1:])]
    stats = []
    for n in range(1, 7):
        stats += [hyp_totals[n - 1] if ref_totals[n] else 0, ref_totals[n], matches[n]]
    assert chrf_from_stats(hyp_len, ref_totals, matches) == CHRF()._compute_f_score(stats) / 100


@pytest.mark.parametrize("unit", ["word", "char"])
@pytest.mark.parametrize("references", [1, 2])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_weighted_mix_is_weighted_sum(unit: str, references: int, data: st.DataObject) -> None:
    """Against several references each metric (each ROUGE type) takes its own best reference."""
    weights = {"bleu": 0.5, "rouge2": 1.5, "rougeL": 2.0, "chrf": 0.25}
    refs = data.draw(st.lists(texts(unit, 8), min_size=references, max_size=references))
    hyp = data.draw(texts(unit, 8))
    steps = data.draw(edit_scripts(unit, len(hyp)))

    def mix(units: list[str]) -> float:
        return sum(w * library_score(m, units, *refs, unit=unit) for m, w in weights.items())

    scorer = make_scorer(weights, *refs, unit=unit)
    assert math.isclose(scorer.set_hypothesis(hyp), mix(hyp), rel_tol=0, abs_tol=1e-12)
    for candidates in steps:
        previews = scorer.preview(candidates)
        for edit, value in zip(candidates, previews):
            after = list(hyp)
            edit.apply(after)
            assert math.isclose(value, mix(after), rel_tol=0, abs_tol=1e-12)
        candidates[0].apply(hyp)
        assert scorer.apply(candidates[0]) == previews[0]


def test_library_engine_and_extra_metrics() -> None:
    ref, hyp = "the cat sat on the mat".split(), "a cat sat on mat".split()
    edit = Edit("replace", 0, "the")
    incremental = make_scorer({"bleu": 1, "rougeL": 1}, ref)
    library = make_scorer({"bleu": 1, "rougeL": 1}, ref, engine="library")
    assert incremental.set_hypothesis(hyp) == library.set_hypothesis(hyp)
    assert incremental.preview([edit]) == library.preview([edit])
    assert incremental.apply(edit) == library.apply(edit)
    other = "a cat sat on the mat".split()
    incremental, library = make_scorer("rougeL", ref, other), make_scorer("rougeL", ref, other, engine="library")
    assert incremental.set_hypothesis(hyp) == library.set_hypothesis(hyp)
    assert incremental.apply(edit) == library.apply(edit)

    class Length(Scorer):
        def __init__(self, reference: list[str]) -> None:
            self.units: list[str] = []

        def set_hypothesis(self, units):
            self.units = list(units)
            return self.score

        @property
        def score(self) -> float:
            return float(len(self.units))

        def __len__(self) -> int:
            return len(self.units)

        def apply(self, edit):
            edit.apply(self.units)
            return self.score

        def preview(self, edits):
            return [self.score + {"insert": 1, "delete": -1, "replace": 0}[e.op] for e in edits]

    mixed = make_scorer({"bleu": 1.0, "length": 0.5}, ref, extra={"length": Length})
    assert mixed.set_hypothesis(ref) == library_score("bleu", ref, ref) + 0.5 * len(ref)
    assert isinstance(make_scorer("length", ref, extra={"length": Length}), Length)


def test_parse_reward() -> None:
    assert parse_reward("bleu") == {"bleu": 1.0}
    assert parse_reward({"rouge1": 1, "chrf": 0.5}) == {"rouge1": 1.0, "chrf": 0.5}
    assert parse_reward({"fluency": 0.1, "bleu": 0}, extra_names=("fluency",)) == {"fluency": 0.1, "bleu": 0.0}
    bad = [
        ("blue", "blue"),
        ({"bleu": 1, "rouge": 1}, "rouge"),
        ({"bleu": float("nan")}, "nan"),
        ({"bleu": float("inf")}, "inf"),
        ({"bleu": "1"}, "'1'"),
        ({"bleu": True}, "True"),
        ({"bleu": 0, "chrf": 0.0}, "all zero"),
        ({}, "non-empty"),
        (3, "3"),
    ]
    for reward, fragment in bad:
        with pytest.raises(ValueError) as err:
            parse_reward(reward)
        assert fragment in str(err.value)
    with pytest.raises(ValueError) as err:
        parse_reward("fluency")
    assert "rougeL" in str(err.value)  # lists the valid names


def test_make_scorer_errors() -> None:
    ref = ["a", "b"]
    for kwargs, fragment in [
        ({"unit": "sentence"}, "sentence"),
        ({"engine": "fast"}, "fast"),
        ({"tokenize": "13b"}, "13b"),
        ({"extra": {"bleu": lambda r: None}}, "shadow"),
    ]:
        with pytest.raises(ValueError) as err:
            make_scorer("bleu", ref, **kwargs)
        assert fragment in str(err.value)
    scorer = make_scorer("bleu", ref)
    scorer.set_hypothesis(["a"])
    for edit in (Edit("delete", 1), Edit("insert", 2, "b"), Edit("replace", 0, None), Edit("swap", 0, "a")):
        with pytest.raises(ValueError):
            scorer.apply(edit)
        with pytest.raises(ValueError):
            scorer.preview([edit])
    assert scorer.score == library_score("bleu", ["a"], ref)
    with pytest.raises(ValueError, match="whitespace"):
        scorer.apply(Edit("insert", 0, "two words"))


def test_join_units() -> None:
    assert join_units(["a", "b"], "word") == "a b"
    assert join_units(["a", " ", "b"], "char") == "a b"


@pytest.mark.parametrize("unit,tokenize", [("word", "13a"), ("word", "intl"), ("char", "13a")])
def test_scorers_pickle(unit: str, tokenize: str) -> None:
    """Environments are pickled and deep-copied, scorers with them."""
    ref = "the cat sat on the mat".split() if unit == "word" else list("the cat sat")
    scorer = make_scorer({m: 1.0 for m in METRICS}, ref, unit=unit, tokenize=tokenize, use_stemmer=True)
    scorer.set_hypothesis(ref[:3])
    clone = pickle.loads(pickle.dumps(scorer))
    edit = Edit("insert", 1, ref[4])
    assert clone.score == scorer.score
    assert clone.apply(edit) == scorer.apply(edit)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda w: not any(ch.isspace() for ch in w)))
def test_word_tokens_are_sacrebleus_13a_tokens_of_the_word(word):
    # Letters and digits of any script take a shortcut past the tokenizer: it must agree with it.
    from textedit_env.metrics.bleu import word_tokens

    expected = tuple(BLEU(tokenize="13a").tokenizer(word).split())
    assert word_tokens("13a", word) == expected
    assert word_tokens("13a", "Zürich2026") == ("Zürich2026",) and word_tokens("13a", "٣٤ab") == ("٣٤ab",)
