"""``ActionGains``: every action's one-step reward as part of the observation (the reference observed)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

GAINS = "gains"
"""the observation key the wrapper adds"""


def action_gains(env: gym.Env) -> np.ndarray:
    """The reward each valid action would earn now (``action_rewards()``), 0 for the invalid ones,
    as float32. With the reference observed it is a function of the observation: the metric's gain
    of each edit of the text against the reference it shows."""
    base = env.unwrapped
    _check_observed(base)
    return np.where(base.action_masks(), base.action_rewards(), 0.0).astype(np.float32)


def _check_observed(base: gym.Env) -> None:
    if not base.observe_reference:
        raise ValueError(
            "action gains read the reference, which this env hides (observe_reference=False): "
            "they would leak it to the agent"
        )


class ActionGains(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Adds ``"gains"`` (one float per action, :func:`action_gains`) to a ``TextEdit-v0`` observation.

    What each edit pays is a function of the text and the reference, but with chrF (character
    n-grams across word boundaries, weighted to recall) it turns on spelling that a reader of the
    word-level alignment cannot see: deleting a surplus word gains 0.32 inside "the red cat holds"
    and 0.02 at the end of a sentence. A network given the gains only has to learn what comes
    after an edit. Costs one ``action_rewards()`` per step (about as much as a step per action
    batch; ``benchmarks/results/action_rewards_cost.md``). Refuses an env whose reference is hidden,
    where the gains are privileged."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        _check_observed(env.unwrapped)
        spaces = dict(env.observation_space.spaces)
        # Unbounded: a weighted mix with the fluency term is not confined to the metric's 0..1.
        spaces[GAINS] = gym.spaces.Box(-np.inf, np.inf, (env.action_space.n,), np.float32)
        self.observation_space = gym.spaces.Dict(spaces)

    def observation(self, observation: dict) -> dict:
        return {**observation, GAINS: action_gains(self.env)}
