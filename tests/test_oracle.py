"""The oracle takes a valid first edit of a minimal script in every state an agent can reach."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.oracle_check import check_state, reachable_state
from textedit_env.env import TextEditEnv
from textedit_env.oracle import edit_distance, oracle_action
from textedit_env.rollout import play_episode, rollout, step_limit
from textedit_env.tasks import available_presets

ENVS = {preset: TextEditEnv(preset=preset) for preset in available_presets()}
WORDS = ["a", "b", "c", "d", "e", "f"]
# Every reference of WORDS fits: at most six units, six distinct; max_length is the longest reference.
SMALL = TextEditEnv(dataset=[" ".join(WORDS)], split="all", max_length=len(WORDS))
CHARS = TextEditEnv(dataset=["abcdef"], unit="char", split="all", max_length=6)


def test_full_text_gets_no_insert():
    """The reported state: a text of max_length words, where the nearest edits include inserts."""
    env = gym.make("TextEdit-v0", preset="easy")
    text, reference = "wants a young child a child child child likes child", "a young child likes a child"
    env.reset(seed=0, options={"source": text, "reference": reference})
    base = env.unwrapped
    assert len(base.text_units) == base.max_length
    assert base.action_masks()[oracle_action(env)]
    assert check_state(base) == (True, True)


@settings(max_examples=120, deadline=None)
@given(preset=st.sampled_from(available_presets()), seed=st.integers(0, 2**32 - 1), full=st.booleans())
def test_oracle_in_random_reachable_states(preset, seed, full):
    env = ENVS[preset]
    reachable_state(env, np.random.default_rng(seed), seed, full)
    if full:
        assert len(env.text_units) == env.max_length
    assert check_state(env) == (True, True)


@settings(max_examples=300, deadline=None)
@given(
    env=st.sampled_from([SMALL, CHARS]),
    source=st.lists(st.sampled_from(WORDS), max_size=len(WORDS)),
    reference=st.lists(st.sampled_from(WORDS), min_size=1, max_size=len(WORDS)),
)
def test_oracle_between_any_texts_up_to_max_length(env, source, reference):
    """Empty texts, full texts, references at max_length, words and characters."""
    join = " ".join if env.unit == "word" else "".join
    env.reset(seed=0, options={"source": join(source), "reference": join(reference)})
    assert check_state(env) == (True, True)


def test_rollout_is_cut_at_the_step_limit_without_a_time_limit():
    env = TextEditEnv(preset="tiny")  # unwrapped: nothing truncates it
    obs, info = env.reset(seed=0)
    invalid = env.codec.encode("delete", env.max_length - 1)  # past the end of the text: a no-op
    steps = list(rollout(env, lambda *_: invalid, obs, info))
    assert len(steps) == step_limit(env) == 50 and steps[-1].truncated
    assert not any(step.truncated for step in steps[:-1])
    wrapped = gym.make("TextEdit-v0", preset="tiny", max_episode_steps=7)
    assert step_limit(wrapped) == 7 and len(play_episode(wrapped, lambda *_: invalid, seed=0)) == 7


def test_oracle_episodes_from_resets_take_the_edit_distance():
    env = gym.make("TextEdit-v0", preset="english-long")
    for seed in range(5):
        env.reset(seed=seed)
        distance = edit_distance(env.unwrapped.text_units, env.unwrapped.reference_units)
        episode = play_episode(env, lambda e, *_: oracle_action(e), seed=seed)
        assert len(episode) == distance and episode[-1].info["solved"]


def test_command_return_is_bounded_and_says_so(monkeypatch):
    lm = pytest.importorskip("textedit_agents.lm_policy")
    env = gym.make("TextEdit-v0", preset="tiny", max_episode_steps=5)
    env.reset(seed=0)
    base = env.unwrapped
    never = base.codec.encode("delete", base.max_length - 1)  # a no-op: an oracle that never finishes
    monkeypatch.setattr(lm, "oracle_policy", lambda *_: never)
    first = base.encode_action("delete", 0)
    with pytest.warns(RuntimeWarning, match="step limit"):
        value = lm.command_return(env, first, gamma=0.5, invalid_penalty=0.0)
    assert np.isfinite(value)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the true oracle finishes within the limit: no warning
        lm.command_return(env, first, gamma=0.5, invalid_penalty=0.0)
