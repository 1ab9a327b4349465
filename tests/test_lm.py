"""Tests of the n-gram language model and the fluency scorer."""

from __future__ import annotations

import functools
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textedit_env.lm import BOS, EOS, UNK, FluencyScorer, NGramLM, language_model
from textedit_env.metrics.base import Edit

TOY = [["a", "b", "a"], ["b", "a"]]

SUBJECTS = ["the cat", "a dog", "my friend", "the old man", "her sister"]
VERBS = ["saw", "liked", "found", "chased", "painted"]
OBJECTS = ["the red ball", "a small house", "the green tree", "our new car", "a big fish"]


def _corpus(seed: int, size: int) -> list[list[str]]:
    """Sentences from a tiny grammar, so word order carries information."""
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}".split() for _ in range(size)]


CORPUS = _corpus(seed=0, size=40)


@functools.cache
def _model(order: int, smoothing: str) -> NGramLM:
    return NGramLM(order=order, smoothing=smoothing).fit(CORPUS)


# ------------------------------------------------------------------ estimates


def test_mle_matches_hand_counts():
    # Padded bigrams: <s> a b a </s> and <s> b a </s>.
    # C(a b)=1, C(a </s>)=2, so C(a)=3; C(b a)=2=C(b); C(<s> a)=1, C(<s> b)=1, C(<s>)=2.
    lm = NGramLM(order=2, smoothing="mle").fit(TOY)
    assert lm.mle("b", ["a"]) == 1 / 3
    assert lm.mle(EOS, ["a"]) == 2 / 3
    assert lm.mle("a", ["b"]) == 2 / 2
    assert lm.mle("a", []) == 1 / 2  # short context = sentence start, i.e. after <s>
    assert lm.mle("b", [BOS]) == 1 / 2
    assert lm.mle("b", ["b"]) == 0.0  # unseen n-gram
    assert lm.mle("a", ["zzz"]) == 0.0  # unseen context (<unk>)
    assert lm.prob("b", ["a"]) == lm.mle("b", ["a"])
    assert lm.logprob("b", ["b"]) == -math.inf


def test_mle_trigram_hand_counts():
    # Padded trigrams: (<s> <s> a) (<s> a b) (a b a) (b a </s>) / (<s> <s> b) (<s> b a) (b a </s>).
    lm = NGramLM(order=3, smoothing="mle").fit(TOY)
    assert lm.mle("a", [BOS, BOS]) == 1 / 2
    assert lm.mle(EOS, ["b", "a"]) == 2 / 2
    assert lm.mle("a", ["a", "b"]) == 1 / 1
    assert lm.mle("b", ["x", "a", "b"]) == 0.0  # only the last order-1 words count


def test_kneser_ney_matches_hand_computation():
    lm = NGramLM(order=2, smoothing="kneser-ney", discount=0.75).fit(TOY)
    assert lm.vocabulary == (EOS, UNK, "a", "b")
    # Bigram types: (<s> a) (a b) (b a) (a </s>) (<s> b): N1+(. .)=5, 3 words seen after
    # something. Continuation counts: N1+(. a)=2, N1+(. b)=2, N1+(. </s>)=1, N1+(. <unk>)=0.
    uniform_part = 0.75 * 3 / 5 / 4
    p_a = (2 - 0.75) / 5 + uniform_part
    p_unk = uniform_part
    assert lm.prob("a", ["zzz"]) == pytest.approx(p_a, abs=1e-15)  # unseen context backs off
    assert lm.prob("never-seen", ["a"]) == pytest.approx(0.75 * 2 / 3 * p_unk, abs=1e-15)
    # C(a b)=1, C(a)=3, N1+(a .)=2.
    assert lm.prob("b", ["a"]) == pytest.approx((1 - 0.75) / 3 + 0.75 * 2 / 3 * p_a, abs=1e-15)


@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-k"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_smoothed_distributions_sum_to_one(order, smoothing):
    lm = _model(order, smoothing)
    contexts = [
        [],
        ["the"],
        ["the", "cat"],
        ["the", "cat", "saw"],
        ["cat", "the"],  # seen words, unseen order
        ["unseen", "words", "here"],
        [BOS, "the"],
        ["red", "ball", UNK],
    ]
    for context in contexts:
        probs = [lm.prob(w, context) for w in lm.vocabulary]
        assert math.fsum(probs) == pytest.approx(1.0, abs=1e-9), context
        assert min(probs) > 0  # unseen words, <unk> included, keep some mass


def test_mle_sums_to_one_on_seen_context():
    lm = _model(3, "mle")
    assert math.fsum(lm.prob(w, ["the", "cat"]) for w in lm.vocabulary) == pytest.approx(1.0)


def test_training_text_less_perplexing_than_shuffled():
    rng = random.Random(1)
    shuffled = [rng.sample(words, len(words)) for words in CORPUS]
    for order in (2, 3):
        for smoothing in ("kneser-ney", "add-k"):
            lm = _model(order, smoothing)
            assert lm.perplexity(CORPUS) < lm.perplexity(shuffled)


def test_log_quantities_agree():
    lm = _model(3, "kneser-ney")
    words = ["the", "cat", "saw", "a", "zebra"]
    logprobs = lm.token_logprobs(words)
    assert len(logprobs) == len(words) + 1
    assert logprobs[-1] == lm.logprob(EOS, words)
    assert lm.sentence_logprob(words) == math.fsum(logprobs)
    assert lm.fluency(words) == pytest.approx(1 / lm.perplexity([words]), rel=1e-12)
    assert 0 < lm.fluency(words) <= 1
    assert lm.fluency([]) == pytest.approx(lm.prob(EOS, [BOS, BOS]), rel=1e-12)
    assert lm.logprob("zebra", ["saw", "a"]) == lm.logprob(UNK, ["saw", "a"])


# ------------------------------------------------------------------ fluency scorer


def _edits(draw, length: int, n_edits: int, words: list[str]) -> list[Edit]:
    """A valid edit sequence starting from a hypothesis of ``length`` words."""
    edits = []
    for _ in range(n_edits):
        ops = ["insert"] + (["delete", "replace"] if length else [])
        op = draw(st.sampled_from(ops))
        position = draw(st.integers(0, length if op == "insert" else length - 1))
        word = draw(st.sampled_from(words)) if op != "delete" else None
        edits.append(Edit(op, position, word))
        length += {"insert": 1, "delete": -1, "replace": 0}[op]
    return edits


EDIT_WORDS = ["the", "cat", "saw", "ball", "red", "zebra", "a", "painted"]


@settings(max_examples=60, deadline=None)
@given(
    order=st.integers(1, 4),
    smoothing=st.sampled_from(["kneser-ney", "add-k", "mle"]),
    start=st.lists(st.sampled_from(EDIT_WORDS), max_size=8),
    data=st.data(),
)
def test_incremental_fluency_equals_rescoring(order, smoothing, start, data):
    lm = _model(order, smoothing)
    scorer = lm.scorer(reference_units=["ignored"])
    assert isinstance(scorer, FluencyScorer)
    assert scorer.set_hypothesis(start) == lm.fluency(start)
    text = list(start)
    edits = _edits(data.draw, len(start), data.draw(st.integers(1, 12)), EDIT_WORDS)
    for edit in edits:
        before = scorer.score
        candidates = [edit, Edit("insert", 0, "cat"), Edit("insert", len(text), "ball")]
        previews = scorer.preview(candidates)
        assert scorer.score == before  # preview leaves the state alone
        for candidate, preview in zip(candidates, previews):
            expected = list(text)
            candidate.apply(expected)
            assert preview == lm.fluency(expected)
        score = scorer.apply(edit)
        edit.apply(text)
        # fsum makes the incremental score exactly the full rescore, not just within 1e-12.
        assert score == scorer.score == lm.fluency(text)
        assert previews[0] == score


def test_fluency_exact_after_many_edits():
    lm = _model(3, "kneser-ney")
    scorer = lm.scorer([])
    rng = random.Random(7)
    text: list[str] = []
    for _ in range(2000):
        op = rng.choice(["insert", "delete", "replace"] if text else ["insert"])
        position = rng.randrange(len(text) + (op == "insert"))
        edit = Edit(op, position, None if op == "delete" else rng.choice(EDIT_WORDS))
        scorer.apply(edit)
        edit.apply(text)
    assert scorer.score == lm.fluency(text)
    assert abs(scorer.score - lm.fluency(text)) <= 1e-12


# ------------------------------------------------------------------ persistence and sampling


@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-k", "mle"])
def test_save_load_round_trip(tmp_path, smoothing):
    lm = NGramLM(order=3, smoothing=smoothing, discount=0.6, k=0.3).fit(CORPUS)
    path = tmp_path / "lm.json"
    lm.save(path)
    loaded = NGramLM.load(path)
    assert (loaded.order, loaded.smoothing, loaded.discount, loaded.k) == (3, smoothing, 0.6, 0.3)
    assert loaded.vocabulary == lm.vocabulary
    for context in (["the", "cat"], ["zebra"], [], ["saw", "the"]):
        for word in lm.vocabulary:
            assert loaded.prob(word, context) == lm.prob(word, context)
    assert loaded.perplexity(CORPUS) == lm.perplexity(CORPUS)


def test_sample_next_is_seeded_and_respects_exclude():
    lm = _model(3, "kneser-ney")
    context = ["the", "cat"]

    def draws(seed: int, exclude=()) -> list[str]:
        rng = np.random.default_rng(seed)
        return [lm.sample_next(context, rng, exclude=exclude) for _ in range(300)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
    assert not {BOS, EOS, UNK} & set(draws(3))
    assert max(set(draws(3)), key=draws(3).count) in VERBS  # the smoothed mass favours verbs
    excluded = set(VERBS) | {"the"}
    assert not excluded & set(draws(5, exclude=excluded))
    everything = set(lm.vocabulary)
    with pytest.raises(ValueError, match="no word left to sample"):
        lm.sample_next(context, np.random.default_rng(0), exclude=everything)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": 0}, "order must be an integer from 1 to"),
        ({"order": -2}, "order must be an integer from 1 to"),
        ({"order": 2.0}, "order must be an integer from 1 to"),
        ({"smoothing": "witten-bell"}, "unknown smoothing 'witten-bell'"),
        ({"discount": 0.0}, r"discount must lie in the open interval \(0, 1\)"),
        ({"discount": 1.0}, r"discount must lie in the open interval \(0, 1\)"),
        ({"discount": float("nan")}, r"discount must lie in the open interval \(0, 1\)"),
        ({"k": 0.0}, "k must be > 0"),
        ({"k": -1.0}, "k must be > 0"),
    ],
)
def test_bad_settings_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NGramLM(**kwargs)


@pytest.mark.parametrize("corpus", [[], [[]], [[], []], iter([])])
def test_empty_corpus_raises(corpus):
    with pytest.raises(ValueError, match="empty corpus"):
        NGramLM().fit(corpus)


def test_misuse_raises():
    with pytest.raises(ValueError, match="not fitted"):
        NGramLM().prob("a", [])
    with pytest.raises(ValueError, match="at least one sentence"):
        _model(2, "kneser-ney").perplexity([])


def test_load_rejects_foreign_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="is not a version-1 textedit-env/ngram-lm file"):
        NGramLM.load(path)


def test_fitted_model_pickles_with_its_caches_rebuilt():
    import pickle

    lm = NGramLM(order=3).fit([["a", "b", "c"], ["a", "c"]])
    lm.prob("b", ["a"])  # fill a cache
    copy = pickle.loads(pickle.dumps(lm))
    assert copy.prob("b", ["a"]) == lm.prob("b", ["a"])
    assert copy.fluency(["a", "c"]) == lm.fluency(["a", "c"])


def test_language_model_is_given_loaded_or_fit_only_when_needed(tmp_path):
    corpus = [["the", "cat"], ["a", "dog"]]
    assert language_model(None, 2, needed=False, training=lambda: pytest.fail("not needed")) is None
    fitted = language_model(None, 2, needed=True, training=lambda: corpus)
    assert fitted.order == 2 and fitted.perplexity(corpus) == NGramLM(order=2).fit(corpus).perplexity(corpus)
    assert language_model(fitted, 3, needed=True, training=lambda: pytest.fail("given")) is fitted
    fitted.save(tmp_path / "lm.json")
    assert language_model(tmp_path / "lm.json", 3, needed=False, training=list).vocabulary == fitted.vocabulary
