"""Gymnasium / SB3 conformance of every registered environment."""

import copy
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env


def assert_same(a, b):
    """Deep equality of observations / infos / rewards, arrays included."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_gymnasium_checker_unwrapped(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(env_id, render_mode="ansi").unwrapped)


def test_gymnasium_checker_through_make(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        check_env(env.unwrapped, skip_render_check=True)
        env.reset(seed=0)
        for _ in range(20):
            env.step(env.action_space.sample())


def test_sb3_checker(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(gym.make(env_id))


def test_text_observation_mode_passes_checker(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(env_id, observation_mode="text").unwrapped, skip_render_check=True)


def test_same_seed_same_episode(env_id, random_valid_actions, rollout):
    actions = random_valid_actions(_reset(gym.make(env_id), 3), np.random.default_rng(0), 60)
    a = rollout(gym.make(env_id), actions, seed=3)
    b = rollout(gym.make(env_id), actions, seed=3)
    assert_same(a, b)
    c = rollout(gym.make(env_id), actions, seed=4)
    assert [t[-1]["reference"] for t in a] != [t[-1]["reference"] for t in c]


def _reset(env, seed):
    env.reset(seed=seed)
    return env


@pytest.mark.parametrize("clone", [pickle.loads, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_pickle_and_deepcopy_round_trip(env_id, clone, random_valid_actions):
    env = gym.make(env_id)
    env.reset(seed=1)
    random_valid_actions(env, np.random.default_rng(1), 5)
    copied = clone(pickle.dumps(env)) if clone is pickle.loads else clone(env)
    for action in random_valid_actions(copy.deepcopy(env), np.random.default_rng(2), 30):
        assert_same(env.step(action), copied.step(action))


def test_observations_are_new_arrays(env_id):
    env = gym.make(env_id)
    first, _ = env.reset(seed=0)
    second, *_ = env.step(0)
    for key in first:
        assert first[key] is not second[key]
        assert not np.shares_memory(first[key], second[key])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_envs(env_id, mode):
    envs = gym.make_vec(
        f"textedit_env:{env_id}",
        num_envs=2,
        vectorization_mode=mode,
        vector_kwargs={"shared_memory": True} if mode == "async" else {},
    )
    obs, info = envs.reset(seed=0)
    assert obs["text"].shape == (2, envs.single_observation_space["text"].shape[0])
    for _ in range(10):
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
        assert obs in envs.observation_space
    envs.close()


def test_make_with_module_prefix_in_fresh_interpreter():
    code = (
        "import gymnasium as gym; env = gym.make('textedit_env:TextEdit-v0'); env.reset(seed=0); "
        "print(env.spec.max_episode_steps)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "50"


def test_registration_is_idempotent_and_step_limit_overridable():
    import importlib

    import textedit_env

    importlib.reload(textedit_env)
    env = gym.make("TextEdit-v0", max_episode_steps=3)
    env.reset(seed=0)
    stops = [env.step(env.unwrapped.encode_action("insert", 0, env.unwrapped.candidates[0])) for _ in range(3)]
    assert [s[3] for s in stops] == [False, False, True] or any(s[2] for s in stops)


@pytest.mark.parametrize("mode", ["ansi", "human", "rgb_array"])
def test_every_render_mode(env_id, mode, capsys):
    env = gym.make(env_id, render_mode=mode)
    env.reset(seed=0)
    frames = [env.render()]
    env.step(int(env.unwrapped.action_masks()[1:].nonzero()[0][0]) + 1)
    frames.append(env.render())
    if mode == "ansi":
        assert all("reference:" in f for f in frames)
    elif mode == "human":
        assert frames == [None, None]
        assert "reference:" in capsys.readouterr().out
    else:
        assert frames[0].dtype == np.uint8 and frames[0].ndim == 3 and frames[0].shape == frames[1].shape
        assert frames[0].min() < 64 and frames[0].max() == 255  # dark text on white
