"""Sizes that would hang or exhaust memory fail fast with a clear message (issue 13)."""

from __future__ import annotations

import copy
import time
import tracemalloc

import numpy as np
import pytest

from textedit_env.actions import MAX_ACTIONS
from textedit_env.env import TextEditEnv
from textedit_env.lm import NGramLM
from textedit_env.metrics.base import Edit, Scorer
from textedit_env.tasks import generated_tasks


def test_a_huge_max_length_is_refused_before_anything_is_built():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="MAX_ACTIONS"):
        TextEditEnv(max_length=10**6)
    assert time.perf_counter() - start < 2


def test_a_reference_with_thousands_of_distinct_words_is_refused():
    reference = " ".join(f"w{i}" for i in range(4000))  # about 32 million actions
    with pytest.raises(ValueError, match=r"the action space would have [\d,]+ actions"):
        TextEditEnv(dataset=[reference], split="all")


def test_the_largest_allowed_space_is_below_the_cap():
    env = TextEditEnv(dataset=[" ".join(f"w{i}" for i in range(1000))], split="all")
    assert env.action_space.n <= MAX_ACTIONS


@pytest.mark.parametrize("num_tasks", [10**4, 10**6])
def test_asking_for_more_generated_tasks_than_the_grammar_makes_fails_fast(num_tasks):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"num_tasks={num_tasks} is more than the 12 distinct sentences"):
        TextEditEnv(preset="tiny", num_tasks=num_tasks)
    assert time.perf_counter() - start < 2


def test_the_generated_set_stops_when_draws_find_nothing_new(monkeypatch):
    class FewSentences:
        """A generator that claims many sentences but draws only three."""

        def max_sentences(self) -> int:
            return 1000

        def sample(self, rng: np.random.Generator) -> list[str]:
            return [["a", "b"], ["b", "a"], ["a", "a"]][rng.integers(3)]

    monkeypatch.setattr("textedit_env.tasks.STALL_DRAWS", 200)
    with pytest.raises(ValueError, match="found only 3 distinct sentences"):
        generated_tasks(FewSentences(), 10, seed=0)
    assert len(generated_tasks(FewSentences(), 3, seed=0)) == 3


def test_the_language_model_distribution_cache_is_bounded_in_bytes():
    words = [f"w{i}" for i in range(50_000)]
    lm = NGramLM(order=2).fit([words[i : i + 10] for i in range(0, len(words), 10)])
    entries = lm._distribution.cache_info().maxsize
    assert entries >= 1 and entries * 8 * len(lm.vocabulary) <= 64 << 20  # at most 64 MiB of arrays
    rng = np.random.default_rng(0)
    assert lm.sample_next(["w0"], rng) in lm.vocabulary


@pytest.mark.parametrize("reward", ["bleu", "rougeL"])
def test_character_action_rewards_are_batched(reward):
    # A 600-character text: every action's reward, exact, in about a second (retokenizing the
    # whole text for each of the ~40,000 actions took half a minute).
    text = ("the quick brown fox jumps over the lazy dog, again and again. " * 10)[:600]
    env = TextEditEnv(dataset=[(text[:-50], text)], split="all", unit="char", reward=reward)
    env.reset(seed=0)
    start = time.perf_counter()
    rewards = env.action_rewards()
    assert time.perf_counter() - start < 5
    for action in np.flatnonzero(env.action_masks())[::997].tolist():
        assert copy.deepcopy(env).step(action)[1] == rewards[action]


class LengthScorer(Scorer):
    """A scorer without a batched path: the score is the hypothesis length (cheap to preview)."""

    def set_hypothesis(self, units):
        self.units = list(units)
        return self.score

    @property
    def score(self) -> float:
        return float(len(self.units))

    def apply(self, edit: Edit) -> float:
        edit.apply(self.units)
        return self.score

    def preview(self, edits):
        return [self.score + (edit.op == "insert") - (edit.op == "delete") for edit in edits]

    def __len__(self) -> int:
        return len(self.units)


def test_generic_edit_scores_keep_memory_flat():
    # Scorers without a batched path preview the edits in fixed-size batches: the ~100,000
    # edits are never all in memory at once (that took about 100 bytes per action).
    scorer, words = LengthScorer(), [f"w{i}" for i in range(50)]
    scorer.set_hypothesis(["x"] * 1000)
    tracemalloc.start()
    table = scorer.edit_scores(words)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    actions = len(table.delete) + table.insert.size + table.replace.size
    assert actions > 100_000 and peak < 8 * actions + 1_000_000  # the result, and one batch
    assert (table.delete == 999).all() and (table.insert == 1001).all() and (table.replace == 1000).all()
