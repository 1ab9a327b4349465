"""Baseline policies that need nothing but the environment: the oracle, a one-step greedy
look-ahead and a uniformly random agent.

A policy maps ``(env, observation, info)`` to an action id; it reads the state from the env itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from textedit_env.oracle import oracle_action

Policy = Callable[[gym.Env, Any, dict], int]


def oracle_policy(env: gym.Env, obs: Any, info: dict) -> int:
    """The first edit of a minimal edit script to the reference; stop at the reference."""
    return oracle_action(env)


def greedy_policy(env: gym.Env, obs: Any, info: dict) -> int:
    """One-step look-ahead: the valid action with the highest reward; stop when none improves."""
    rewards = np.where(env.unwrapped.action_masks(), env.unwrapped.action_rewards(), -np.inf)
    best = int(np.argmax(rewards))
    return best if rewards[best] > 0 else env.unwrapped.encode_action("stop")


def random_policy(seed: int) -> Policy:
    """A uniformly random choice among the valid actions (stop included)."""
    rng = np.random.default_rng(seed)
    return lambda env, obs, info: int(rng.choice(np.flatnonzero(env.unwrapped.action_masks())))


BASELINES: dict[str, Callable[[int], Policy]] = {
    "oracle": lambda seed: oracle_policy,
    "greedy": lambda seed: greedy_policy,
    "random": random_policy,
}
"""Each baseline by name, built from a seed (only the random one uses it)."""
