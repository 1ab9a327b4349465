"""``StartAtReference``: a share of the episodes starts at the reference, where the best action is to stop."""

from __future__ import annotations

import gymnasium as gym

from textedit_env.metrics.base import join_units


class StartAtReference(gym.Wrapper):
    """Starts a share of the episodes from their reference itself, where nothing is left to improve
    and the best action is to stop: a learner never sees that state otherwise when an episode ends as
    soon as its text reaches the reference (and seldom when the reference is hidden). ``share=1``
    starts every episode there (a test of stopping). It reads the reference to do so: a training and
    evaluation device, privileged when the reference is hidden, though the agent still sees only a
    text that needs nothing."""

    def __init__(self, env: gym.Env, share: float):
        super().__init__(env)
        self.share = share

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if options is None and self.np_random.random() < self.share:
            base = self.env.unwrapped
            references = [join_units(reference, base.unit) for reference in base.references]
            obs, info = self.env.reset(options={"source": references[0], "reference": references})
        return obs, info
