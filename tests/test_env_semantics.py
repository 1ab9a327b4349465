"""What an episode means: actions, rewards, the oracle, bad input."""

import copy
import math

import gymnasium as gym
import numpy as np
import pytest

from textedit_env.env import TextEditEnv
from textedit_env.metrics import Edit, library_score
from textedit_env.oracle import closest, edit_distance, oracle_action
from textedit_env.tasks import available_presets


def make(**kwargs):
    return gym.make("TextEdit-v0", **kwargs)


PAIR = {"source": "the cat sees dog", "reference": "the cat sees a dog"}


def test_encode_decode_round_trip_and_layout():
    env = make()
    env.reset(seed=0, options=PAIR)
    base = env.unwrapped
    assert base.encode_action("stop") == 0
    assert base.decode_action(base.encode_action("delete", 2)) == ("delete", 2, None)
    for word in base.candidates:
        for op, position in (("insert", base.max_length), ("replace", 1)):
            assert base.decode_action(base.encode_action(op, position, word)) == (op, position, word)
    L, K = base.max_length, base.num_candidates
    assert base.action_space.n == 1 + L + (L + 1) * K + L * K
    decoded = [base.codec.decode(a) for a in range(base.action_space.n)]
    assert len(set(decoded)) == base.action_space.n  # a bijection between ids and (op, position, slot)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: b.encode_action("insert", 0, "zebra"), "not among"),
        (lambda b: b.encode_action("insert", 0), "needs a word"),
        (lambda b: b.encode_action("delete", 0, "a"), "takes no word"),
        (lambda b: b.encode_action("delete", b.max_length), "outside"),
        (lambda b: b.encode_action("insert", 0, "a b"), "whitespace"),
        (lambda b: b.encode_action("insert", 0, "a\x00"), "control character"),
        (lambda b: b.encode_action("jump", 0), "unknown op"),
    ],
)
def test_encode_action_rejects_what_the_space_cannot_express(call, message):
    env = make()
    env.reset(seed=0, options=PAIR)
    with pytest.raises(ValueError, match=message):
        call(env.unwrapped)


def test_insert_position_semantics_and_solve():
    env = make()
    env.reset(seed=0, options=PAIR)
    _, reward, terminated, truncated, info = env.step(env.unwrapped.encode_action("insert", 3, "a"))
    assert info["text"] == "the cat sees a dog" and info["solved"] and terminated and not truncated
    expected = library_score("bleu", "the cat sees a dog".split(), "the cat sees a dog".split()) - library_score(
        "bleu", "the cat sees dog".split(), "the cat sees a dog".split()
    )
    assert reward == expected


def test_stop_terminates_with_zero_reward():
    env = make()
    env.reset(seed=0, options=PAIR)
    _, reward, terminated, _, info = env.step(0)
    assert terminated and reward == 0.0 and not info["solved"] and not info["invalid_action"]


def test_invalid_action_is_a_penalised_no_op():
    env = make(invalid_penalty=0.25, step_penalty=0.01)
    obs, info = env.reset(seed=0, options=PAIR)
    base = env.unwrapped
    invalid = [
        base.encode_action("delete", 4),  # past the end
        base.encode_action("replace", 0, "the"),  # a unit by itself
        base.encode_action("insert", 9, "a"),  # past the end
    ]
    for action in invalid:
        assert not base.action_masks()[action]
        new_obs, reward, terminated, truncated, new_info = env.step(action)
        assert new_info["invalid_action"] and not terminated
        assert reward == pytest.approx(-0.26)
        assert new_info["text"] == info["text"]
        np.testing.assert_array_equal(new_obs["text"], obs["text"])


def test_delete_on_empty_text_is_invalid():
    env = make(noise="empty")
    _, info = env.reset(seed=0)
    assert info["text"] == ""
    _, _, _, _, info = env.step(env.unwrapped.encode_action("delete", 0))
    assert info["invalid_action"]


@pytest.mark.parametrize("action", [-1, 10**6, 2.5, "3", [1, 2]])
def test_action_outside_the_space_raises(action):
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(action)


def test_mask_matches_step_validity(random_valid_actions):
    env = make(preset="medium")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(30):
        mask = env.unwrapped.action_masks()
        for action in rng.choice(env.action_space.n, 25, replace=False):
            probe = copy.deepcopy(env)
            assert probe.step(int(action))[4]["invalid_action"] == (not mask[action])
        random_valid_actions(env, rng, 1)


@pytest.mark.parametrize(
    "reward, kwargs",
    [
        ("bleu", {}),
        ("rouge1", {}),
        ("rouge2", {"use_stemmer": True}),
        ("rougeL", {}),
        ("chrf", {}),
        ({"bleu": 0.5, "rougeL": 0.3, "chrf": 0.2}, {}),
    ],
)
def test_reward_is_the_library_score_difference(reward, kwargs):
    env = make(preset="medium", reward=reward, **kwargs)
    env.reset(seed=5)
    rng = np.random.default_rng(5)
    weights = reward if isinstance(reward, dict) else {reward: 1.0}

    def library(text, ref):
        return sum(w * library_score(m, text.split(), ref.split(), **kwargs) for m, w in weights.items())

    _, info = env.reset(seed=5)
    for _ in range(60):
        mask = env.unwrapped.action_masks()
        mask[0] = False
        action = int(rng.choice(mask.nonzero()[0]))
        before = info
        _, reward_value, terminated, truncated, info = env.step(action)
        assert math.isclose(info["score"], library(info["text"], info["reference"]), rel_tol=0, abs_tol=1e-12)
        assert math.isclose(reward_value, info["score"] - before["score"], rel_tol=0, abs_tol=1e-12)
        if terminated or truncated:
            _, info = env.reset()


def test_episode_return_is_final_minus_initial_score():
    env = make(preset="medium")
    _, info = env.reset(seed=2)
    start, total = info["score"], 0.0
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = env.unwrapped.action_masks()
        mask[0] = False
        _, reward, terminated, truncated, info = env.step(int(rng.choice(mask.nonzero()[0])))
        total += reward
        if terminated or truncated:
            break
    assert math.isclose(total, info["score"] - start, abs_tol=1e-12)


@pytest.mark.parametrize(
    "settings",
    [
        {"preset": "medium"},
        {"preset": "english", "reward": {"rouge1": 1.0, "rouge2": 0.5, "rougeL": 1.0}},
        {"preset": "english", "reward": "chrf"},
        {"preset": "easy", "reward": {"bleu": 1.0, "fluency": 0.5}},
        {"preset": "easy", "tokenize": "intl"},
        {"preset": "english", "unit": "char", "reward": "rouge2"},
    ],
)
def test_action_rewards_match_step(settings):
    env = make(step_penalty=0.01, invalid_penalty=0.1, **settings)
    env.reset(seed=4)
    base = env.unwrapped
    predicted = base.action_rewards()
    # Every valid action: the batched scores equal the scorer's preview of that edit, exactly.
    valid = np.flatnonzero(base.action_masks()[1:]) + 1
    edits = [Edit(*base.decode_action(int(a))) for a in valid]
    expected = np.array(base.scorer.preview(edits)) - base.scorer.score - base.step_penalty
    np.testing.assert_array_equal(predicted[valid], expected)
    assert predicted[0] == -0.01
    # A sample of all actions, invalid ones included: the reward that stepping gives.
    for action in np.random.default_rng(0).choice(env.action_space.n, 25, replace=False):
        assert copy.deepcopy(env).step(int(action))[1] == pytest.approx(predicted[action], abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("preset", available_presets())
@pytest.mark.parametrize("reward", ["bleu", "rougeL"])
def test_oracle_solves_every_task_in_edit_distance_steps(preset, reward):
    """The oracle reaches its target (the nearest reference, or with the reference hidden what the
    edit vocabulary can write of it) in the edit distance; with the reference hidden, reaching it does
    not end the episode: the oracle stops there."""
    env = make(preset=preset, reward=reward, max_episode_steps=200)
    base = env.unwrapped
    for seed in range(15):
        _, info = env.reset(seed=seed)
        target = closest(base.text_units, base.oracle_targets)
        distance = edit_distance(base.text_units, target)
        steps = 0
        while True:
            _, _, terminated, truncated, info = env.step(oracle_action(env))
            steps += 1
            assert not info["invalid_action"]
            if terminated or truncated:
                break
        assert steps == distance + (not base.observe_reference) and base.text_units == target
        assert info["solved"] == (target in base.references)


def test_oracle_from_empty_text_generates_the_reference():
    env = make(noise="empty", preset="english")
    env.reset(seed=0)
    n = len(env.unwrapped.reference_units)
    for _ in range(n):
        *_, info = env.step(oracle_action(env))
    assert info["solved"]


def test_edit_distance():
    assert edit_distance("a b c".split(), "a c d".split()) == 2
    assert edit_distance([], "a b".split()) == 2
    assert edit_distance("x y".split(), "x y".split()) == 0


def test_reset_options_start_the_exact_pair_and_unicode_round_trips():
    env = make(dataset=["Café déjà vu 🙂 naïve", "我们 去 北京"], split="all")
    _, info = env.reset(seed=0, options={"source": "Café vu 🙂", "reference": "Café déjà vu 🙂 naïve"})
    assert info["text"] == "Café vu 🙂" and info["reference"] == "Café déjà vu 🙂 naïve"
    while not info["solved"]:
        *_, info = env.step(oracle_action(env))
    assert info["text"] == "Café déjà vu 🙂 naïve"


def test_character_units_edit_chinese():
    env = make(dataset=["我们今天去北京。", "他喜欢喝茶"], unit="char", split="all", tokenize="zh")
    _, info = env.reset(seed=0, options={"source": "我们去北京", "reference": "我们今天去北京。"})
    assert env.unwrapped.text_units == list("我们去北京")
    *_, info = env.step(env.unwrapped.encode_action("insert", 2, "今"))
    assert info["text"] == "我们今去北京"
    assert info["score"] == pytest.approx(
        library_score("bleu", list("我们今去北京"), list("我们今天去北京。"), unit="char", tokenize="zh"), abs=1e-12
    )


@pytest.mark.slow
def test_splits_are_disjoint():
    train = make(split="train", num_tasks=200)
    test = make(split="test", num_tasks=200)
    refs = lambda env: {tuple(t.reference) for t in env.unwrapped.task_set.tasks}  # noqa: E731
    assert refs(train) and refs(test) and not refs(train) & refs(test)
    generated_train = {make(split="train").reset(seed=s)[1]["reference"] for s in range(100)}
    generated_test = {make(split="test").reset(seed=s)[1]["reference"] for s in range(100)}
    assert not generated_train & generated_test


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"reward": "meteor"}, "unknown reward metric"),
        ({"reward": {"bleu": float("nan")}}, "finite"),
        ({"preset": "impossible"}, "unknown preset"),
        ({"split": "validation"}, "split"),
        ({"unit": "byte"}, "unit"),
        ({"noise": "gaussian"}, "noise"),
        ({"corruptions": 0}, "corruptions"),
        ({"corruptions": (3, 1)}, "high < low"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"vocab_size": -5}, "vocab_size"),
        ({"sentence_length": (0, 3)}, "sentence_length"),
        ({"num_tasks": 0}, "num_tasks"),
        ({"max_length": 0}, "max_length"),
        ({"max_length": 2}, "shorter than the longest task"),
        ({"num_distractors": -1}, "num_distractors"),
        ({"step_penalty": -0.1}, "step_penalty"),
        ({"invalid_penalty": float("inf")}, "invalid_penalty"),
        ({"observation_mode": "pixels"}, "observation_mode"),
        ({"render_mode": "opengl"}, "render_mode"),
        ({"reward_engine": "magic"}, "reward_engine"),
        ({"tokenize": "klingon"}, "tokeni"),
        ({"dataset": ["a b", ""]}, "item 1: the reference is empty"),
        ({"dataset": [("a", 3)]}, "reference must be a string"),
        ({"dataset": []}, "no tasks"),
        ({"dataset": ["ok text", "bad\x07 text"]}, "control character"),
        ({"dataset": ["one two"], "split": "test"}, "split='all'"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TextEditEnv(**kwargs).reset(seed=0)


def test_reward_settings_are_checked_at_construction():
    # Not at the first reset: a bad setting fails where it is written.
    for kwargs, message in [({"tokenize": "klingon"}, "tokeni"), ({"reward": {"bleu": 0.0}}, "all zero")]:
        with pytest.raises(ValueError, match=message):
            TextEditEnv(**kwargs)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"source": "a b"}, "need a 'reference'"),
        ({"reference": "   "}, "reference is empty"),
        ({"reference": "a\x01b"}, "control character"),
        ({"reference": "the cat", "target": "x"}, "unknown reset options"),
        ({"reference": " ".join(f"w{i}" for i in range(80))}, "max_length"),
    ],
)
def test_bad_reset_options(options, message):
    env = make()
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0, options=options)


def test_lm_noise_and_fluency_reward():
    env = make(preset="medium", noise="lm", reward={"bleu": 1.0, "fluency": 0.5})
    _, info = env.reset(seed=0)
    lm = env.unwrapped.lm
    expected = library_score("bleu", info["text"].split(), info["reference"].split()) + 0.5 * lm.fluency(
        info["text"].split()
    )
    assert info["score"] == pytest.approx(expected, abs=1e-12)
    assert info["text"] != info["reference"]


def test_observation_arrays_follow_the_text():
    env = make(preset="medium")
    obs, _ = env.reset(seed=7)
    base, rng = env.unwrapped, np.random.default_rng(7)
    for _ in range(80):
        units, candidates = base.text_units, base.candidates
        n, L = len(units), base.max_length
        assert list(obs["text"][:n]) == [base.vocabulary.id(u) for u in units] and not obs["text"][n:].any()
        assert list(obs["text_slots"][:n]) == [2 + candidates.index(u) if u in candidates else 1 for u in units]
        assert not obs["text_slots"][n:].any()
        assert list(obs["candidates"][: len(candidates)]) == [base.vocabulary.id(w) for w in candidates]
        assert list(obs["lengths"]) == [n, len(base.reference_units)] and obs["text"].shape == (L,)
        mask = base.action_masks()
        mask[0] = False
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(mask.nonzero()[0])))
        if terminated or truncated:
            obs, _ = env.reset()


def test_observation_mask_equals_action_masks():
    env = make(preset="medium")
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(40):
        np.testing.assert_array_equal(env.unwrapped.codec.observation_mask(obs), env.unwrapped.action_masks())
        mask = env.unwrapped.action_masks()
        mask[0] = False
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(mask.nonzero()[0])))
        if terminated or truncated:
            obs, _ = env.reset()
