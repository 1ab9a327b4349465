"""Episodes played by a policy, always within a step limit.

Every loop over environment steps in the package goes through :func:`rollout`, so none can run
forever: an environment made by ``gym.make`` truncates at its ``TimeLimit``, and one without a
time limit (an unwrapped or copied env) is cut by :func:`rollout` itself at :func:`step_limit`,
the cut step marked ``truncated`` as a ``TimeLimit`` would mark it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from textedit_env import DEFAULT_MAX_EPISODE_STEPS
from textedit_env.policies import Policy


@dataclass(frozen=True)
class Step:
    """One environment step: the action taken and what ``env.step`` returned for it."""

    action: int
    observation: Any
    reward: float
    terminated: bool
    truncated: bool
    info: dict


def step_limit(env: gym.Env) -> int:
    """The most steps an episode of ``env`` may take: the ``max_episode_steps`` of its ``TimeLimit``
    wrapper, else of its spec, else ``TextEdit-v0``'s default."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env._max_episode_steps
        env = env.env
    spec_limit = env.spec.max_episode_steps if env.spec is not None else None
    return spec_limit or DEFAULT_MAX_EPISODE_STEPS


def rollout(env: gym.Env, policy: Policy, observation: Any, info: dict, limit: int | None = None) -> Iterator[Step]:
    """Step ``env`` with ``policy`` from its current state (``observation``, ``info``) until the episode
    ends, for at most ``limit`` steps (default :func:`step_limit`); the last step of an episode cut at
    ``limit`` has ``truncated`` set."""
    limit = step_limit(env) if limit is None else limit
    for count in range(1, limit + 1):
        action = policy(env, observation, info)
        observation, reward, terminated, truncated, info = env.step(action)
        truncated = bool(truncated) or (count == limit and not terminated)
        yield Step(action, observation, reward, terminated, truncated, info)
        if terminated or truncated:
            return


def play_episode(env: gym.Env, policy: Policy, seed: int | None = None, options: dict | None = None) -> list[Step]:
    """``env.reset(seed=seed, options=options)``, then the steps of ``policy`` to the end of the episode."""
    observation, info = env.reset(seed=seed, options=options)
    return list(rollout(env, policy, observation, info))
