"""Tests of the text interface: prompts, command parsing, invalid commands, the oracle through strings."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import textedit_env  # noqa: F401  (registers TextEdit-v0)
from textedit_env.policies import oracle_policy
from textedit_env.wrappers import TextCommands, command_for, format_prompt, parse_command

PAIR = {"source": "the cat sees dog", "reference": "the cat sees a dog"}


def commands_env(**kwargs) -> TextCommands:
    return TextCommands(gym.make("TextEdit-v0", **kwargs))


@pytest.fixture
def env() -> TextCommands:
    env = commands_env(step_penalty=0.01, invalid_penalty=0.25)
    env.reset(seed=0, options=PAIR)
    return env


def test_prompt_shows_reference_numbered_text_words_and_grammar(env):
    reference, text, words, grammar = format_prompt(env).splitlines()
    assert reference == "reference: the cat sees a dog"
    assert text == "text: [0] the [1] cat [2] sees [3] dog [4]"
    assert set(words.removeprefix("words: ").split()) == set(env.unwrapped.candidates)
    assert "insert P WORD" in grammar and "stop" in grammar


def test_reset_returns_the_prompt_and_an_empty_error(env):
    prompt, info = env.reset(seed=1)
    assert prompt == format_prompt(env) and info["error"] == ""


@pytest.mark.parametrize(
    ("command", "edit"),
    [
        ("insert 3 a", ("insert", 3, "a")),
        ("  INSERT   3 a ", ("insert", 3, "a")),
        ("insert 4 the", ("insert", 4, "the")),
        ("delete 0", ("delete", 0, None)),
        ("Delete 3", ("delete", 3, None)),
        ("replace 1 dog", ("replace", 1, "dog")),
        ("replace 1 DOG", ("replace", 1, "dog")),  # the only case-insensitive match of a candidate
        ("stop", ("stop", 0, None)),
        ("STOP", ("stop", 0, None)),
    ],
)
def test_valid_commands_parse_to_their_action(env, command, edit):
    assert parse_command(command, env) == (env.unwrapped.encode_action(*edit), "")


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("", "empty command"),
        ("   ", "empty command"),
        ("jump 3", "unknown command 'jump'"),
        ("delete", "delete takes 1 argument"),
        ("stop now", "stop takes 0 arguments"),
        ("insert 3", "insert takes 2 arguments"),
        ("delete x", "position 'x' is not a number"),
        ("delete -1", "position '-1' is not a number"),
        ("delete 4", "delete position 4 is outside 0..3"),
        ("insert 5 a", "insert position 5 is outside 0..4"),
        ("replace 99999999999 a", "position '99999999999' is not a number"),
        ("insert 0 zebra", "'zebra' is not one of the words"),
        ("replace 0 the", "changes nothing"),
        (None, "a command must be a string, got NoneType"),
        (3, "a command must be a string, got int"),
        (b"stop", "a command must be a string, got bytes"),
    ],
)
def test_invalid_commands_are_played_as_invalid_actions(env, command, error):
    assert parse_command(command, env)[0] is None
    text = env.unwrapped.text_units
    prompt, reward, terminated, truncated, info = env.step(command)
    assert error in info["error"]
    assert info["invalid_action"] and not terminated
    assert reward == pytest.approx(-0.26)  # the env's own step and invalid penalties
    assert env.unwrapped.text_units == text and prompt == format_prompt(env)


def test_full_and_empty_texts_say_why():
    env = commands_env(preset="tiny", max_length=4)
    env.reset(seed=0, options={"source": "the cat sees dog", "reference": "the cat sees a"})
    assert "the text is full" in env.step("insert 0 a")[4]["error"]
    env.reset(seed=0, options={"source": "", "reference": "the cat"})
    assert env.step("delete 0")[4]["error"] == "the text is empty: there is no word to delete"
    assert env.step("insert 0 cat")[4]["error"] == ""


def test_a_valid_command_edits_the_text_like_its_action(env):
    twin = gym.make("TextEdit-v0", step_penalty=0.01, invalid_penalty=0.25)
    twin.reset(seed=0, options=PAIR)
    _, reward, terminated, _, info = env.step("replace 3 a")
    _, twin_reward, twin_terminated, _, twin_info = twin.step(twin.unwrapped.encode_action("replace", 3, "a"))
    assert (reward, terminated, info["text"]) == (twin_reward, twin_terminated, twin_info["text"])
    assert info["text"] == "the cat sees a" and info["error"] == "" and not info["invalid_action"]


def test_command_for_inverts_parse_command_on_every_valid_action(env):
    for action in np.flatnonzero(env.unwrapped.action_masks()):
        command = command_for(env, int(action))
        assert parse_command(command, env) == (action, "")
        assert env.action_space.contains(command)


def test_command_for_rejects_an_empty_candidate_slot():
    env = commands_env(preset="tiny")
    env.reset(seed=0, options={"reference": "the cat"})
    base = env.unwrapped
    empty = base.codec.encode("insert", 0, base.num_candidates - 1)
    with pytest.raises(ValueError, match="empty candidate slot"):
        command_for(env, empty)


def test_char_units_are_rejected():
    with pytest.raises(ValueError, match="needs word units"):
        commands_env(unit="char", dataset=["abc"], split="all")


COMMAND_PARTS = st.one_of(
    st.sampled_from(["insert", "delete", "replace", "stop", "INSERT", "Replace"]),
    st.integers(-3, 20).map(str),
    st.sampled_from(["the", "cat", "a", "dog", "zebra"]),
    st.text(max_size=5),
)
ANY_ACTION = st.one_of(
    st.lists(COMMAND_PARTS, max_size=5).map(" ".join),
    st.text(),
    st.text(min_size=1, max_size=8).map(lambda s: (s * 10_000)[:10_000]),  # 10,000 characters
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(),
    st.lists(st.integers(), max_size=3),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(actions=st.lists(ANY_ACTION, min_size=1, max_size=6))
def test_any_action_never_raises_and_invalid_ones_change_nothing(actions):
    env = commands_env(preset="tiny", invalid_penalty=0.5)
    prompt, _ = env.reset(seed=0, options={"source": "the cat", "reference": "the big cat"})
    for action in actions:
        text = env.unwrapped.text_units
        prompt, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(prompt)
        assert info["invalid_action"] == (info["error"] != "")
        if info["invalid_action"]:
            assert env.unwrapped.text_units == text and reward == -0.5
        if terminated or truncated:
            env.reset(seed=0)


@pytest.mark.parametrize("preset", ["easy", "english"])
def test_prompts_fit_the_observation_space(preset):
    env = commands_env(preset=preset)
    for seed in range(30):
        prompt, _ = env.reset(seed=seed)
        assert env.observation_space.contains(prompt)
        prompt, *_ = env.step(command_for(env, oracle_policy(env, None, {})))
        assert env.observation_space.contains(prompt)


def test_oracle_commands_as_strings_solve_every_held_out_episode():
    env = commands_env(preset="english", split="test", noise="random")
    tasks = env.unwrapped.task_set.tasks
    assert len(tasks) > 50
    for i, task in enumerate(tasks):
        prompt, info = env.reset(seed=i, options={"reference": " ".join(task.reference)})
        terminated = truncated = False
        while not (terminated or truncated):
            command = command_for(env, oracle_policy(env, prompt, info))
            prompt, reward, terminated, truncated, info = env.step(command)
            assert info["error"] == ""
        assert info["solved"], (task.reference, info["text"])


def test_the_longest_texts_fit_the_observation_space():
    env = commands_env(preset="english")
    base = env.unwrapped
    longest = max(base.vocabulary.itos[2:], key=len)
    full = " ".join([longest] * base.max_length)
    prompt, _ = env.reset(seed=0, options={"source": full, "reference": full})
    assert len(prompt) > 2 * base.max_length * len(longest) and env.observation_space.contains(prompt)
