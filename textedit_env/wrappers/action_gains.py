"""``ActionGains``: every action's one-step reward, and how far the score can still rise, as part of the
observation (the reference observed)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

GAINS = "gains"
"""the observation key of each action's one-step reward"""
HEADROOM = "headroom"
"""the observation key of how far the score can still rise"""


def _check_observed(base: gym.Env) -> None:
    if not base.observe_reference:
        raise ValueError(
            "action gains read the reference, which this env hides (observe_reference=False): "
            "they would leak it to the agent"
        )


def action_gains(env: gym.Env) -> np.ndarray:
    """The reward each valid action would earn now (``action_rewards()``), 0 for the invalid ones,
    as float32. With the reference observed it is a function of the observation: the metric's gain
    of each edit of the text against the reference it shows."""
    base = env.unwrapped
    _check_observed(base)
    return np.where(base.action_masks(), base.action_rewards(), 0.0).astype(np.float32)


def headroom(env: gym.Env) -> np.ndarray:
    """(1,) float32: the metric's top score less the current score, at least 0. Every metric tops
    out at 1 (the text is the reference), a weighted mix at the sum of its weights."""
    base = env.unwrapped
    _check_observed(base)
    top = sum(base.weights.values())
    return np.array([max(0.0, top - float(base.outcome()["score"]))], np.float32)


def gain_arrays(env: gym.Env) -> dict[str, np.ndarray]:
    """What :class:`ActionGains` adds to an observation of ``env``."""
    return {GAINS: action_gains(env), HEADROOM: headroom(env)}


class ActionGains(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Adds ``"gains"`` (one float per action, :func:`action_gains`) and ``"headroom"`` (:func:`headroom`)
    to a ``TextEdit-v0`` observation.

    What each edit pays is a function of the text and the reference, but with chrF (character
    n-grams across word boundaries, weighted to recall) it turns on spelling that a reader of the
    word-level alignment cannot see: deleting a surplus word gains 0.32 inside "the red cat holds"
    and 0.02 at the end of a sentence. ROUGE ignores case and punctuation, so an edit there changes
    nothing it pays for. A learner given the gains and the headroom has only to learn what comes
    after an edit, and knows when nothing can. Costs one ``action_rewards()`` per step (about as much
    as a step per action batch; ``benchmarks/results/action_rewards_cost.md``). Refuses an env whose
    reference is hidden, where both are privileged."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        _check_observed(env.unwrapped)
        spaces = dict(env.observation_space.spaces)
        # Unbounded: a weighted mix with the fluency term is not confined to the metric's 0..1.
        spaces[GAINS] = gym.spaces.Box(-np.inf, np.inf, (env.action_space.n,), np.float32)
        spaces[HEADROOM] = gym.spaces.Box(0.0, np.inf, (1,), np.float32)
        self.observation_space = gym.spaces.Dict(spaces)

    def observation(self, observation: dict) -> dict:
        return {**observation, **gain_arrays(self.env)}
