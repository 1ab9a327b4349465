import gymnasium as gym
import pytest

import textedit_env  # noqa: F401  (registers the environments)

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("TextEdit"))


def _rollout(env, actions, seed):
    """Observations, rewards and infos of a fixed action sequence from ``reset(seed)``."""
    obs, info = env.reset(seed=seed)
    trace = [(obs, info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append((obs, info))
    return trace


def _random_valid_actions(env, rng, count):
    """Play ``count`` random valid actions (stop excluded), resetting when an episode ends."""
    actions = []
    for _ in range(count):
        mask = env.unwrapped.action_masks()
        mask[0] = False
        action = int(rng.choice(mask.nonzero()[0]))
        actions.append(action)
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return actions


@pytest.fixture(params=ENV_IDS)
def env_id(request):
    return request.param


@pytest.fixture
def rollout():
    """``rollout(env, actions, seed)``: the trace of a fixed action sequence."""
    return _rollout


@pytest.fixture
def random_valid_actions():
    """``random_valid_actions(env, rng, count)``: play random valid actions, return them."""
    return _random_valid_actions
