"""The valid-action mask inside the observation, in the layouts other RL libraries read.

``TextEdit-v0`` gives its mask through ``env.unwrapped.action_masks()`` (sb3-contrib's
convention). Libraries that take the mask from the observation get it from
:class:`MaskInObservation`, with the mask as ``Box(0, 1, (n,), bool)`` (True = valid; TorchRL's
``QValueModule`` needs a boolean mask, Tianshou adds it to Q-values, RLlib takes its logarithm):

- ``layout="action_mask"``: ``{"action_mask": mask, "observations": obs}``, read by RLlib's
  action-masking RLModule and TorchRL's ``ActionMask`` transform (and ``QValueModule``'s
  ``action_mask_key``);
- ``layout="tianshou"``: ``{"obs": obs, "mask": mask}``, read by Tianshou, whose policies take the
  mask from ``obs.mask`` and give ``obs.obs`` to the network.

``obs`` is the environment's ``Dict`` observation, or with ``flatten=True`` one ``Box`` vector
(:class:`FlatObservation`) for networks that take no ``Dict`` (Tianshou's ``Net``, TorchRL's
``MLP``, SB3's ``MlpLstmPolicy``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

LAYOUTS: dict[str, tuple[str, str]] = {
    "action_mask": ("observations", "action_mask"),
    "tianshou": ("obs", "mask"),
}
"""Each layout's (observation key, mask key)."""


class FlatObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """The ``Dict`` of integer arrays as one ``float32`` ``Box`` vector: the arrays side by side in
    the ``Dict``'s key order, values unchanged.

    Unlike ``gymnasium.wrappers.FlattenObservation`` it does not one-hot encode the
    ``MultiDiscrete`` slot arrays (``K+2`` floats per unit); float32 holds every id exactly
    (below 2**24) and is what MLPs take without a cast.
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        self.observation_space = flat_space(env.observation_space)

    def observation(self, observation: dict) -> np.ndarray:
        return flatten(observation, self.env.observation_space)


class MaskInObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Adds the current valid-action mask to the observation, in one of the :data:`LAYOUTS`.

    ``flatten=True`` replaces the ``Dict`` observation by :class:`FlatObservation`'s vector.
    The mask is the one of the state the observation shows (after ``reset`` and every ``step``).
    """

    def __init__(self, env: gym.Env, layout: str = "action_mask", flatten: bool = False):
        if layout not in LAYOUTS:
            raise ValueError(f"unknown mask layout {layout!r}; expected one of {tuple(LAYOUTS)}")
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"MaskInObservation needs a Discrete action space, got {env.action_space}")
        gym.utils.RecordConstructorArgs.__init__(self, layout=layout, flatten=flatten)
        gym.ObservationWrapper.__init__(self, env)
        self.layout, self.flatten = layout, flatten
        self._obs_key, self._mask_key = LAYOUTS[layout]
        self.observation_space = spaces.Dict(
            {
                self._obs_key: flat_space(env.observation_space) if flatten else env.observation_space,
                self._mask_key: spaces.Box(0, 1, (int(env.action_space.n),), dtype=np.bool_),
            }
        )

    def observation(self, observation) -> dict:
        if self.flatten:
            observation = flatten(observation, self.env.observation_space)
        return {self._obs_key: observation, self._mask_key: np.asarray(self.env.unwrapped.action_masks(), np.bool_)}


def flat_space(space: spaces.Space) -> spaces.Box:
    """The ``float32`` ``Box`` of :func:`flatten`'s vectors; ValueError unless ``space`` is a ``Dict`` of
    integer arrays."""
    if not isinstance(space, spaces.Dict) or not all(
        isinstance(s, (spaces.Box, spaces.MultiDiscrete)) for s in space.values()
    ):
        raise ValueError(f"flattening needs a Dict of integer arrays (observation_mode='ids'), got {space}")
    bounds = [_bounds(s) for s in space.values()]
    return spaces.Box(
        np.concatenate([low for low, _ in bounds]), np.concatenate([high for _, high in bounds]), dtype=np.float32
    )


def flatten(observation: dict, space: spaces.Dict) -> np.ndarray:
    """The arrays of a ``Dict`` observation side by side, in the space's key order, as ``float32``."""
    return np.concatenate([np.ravel(observation[key]) for key in space]).astype(np.float32)


def _bounds(space: spaces.Box | spaces.MultiDiscrete) -> tuple[np.ndarray, np.ndarray]:
    """Flat float32 lower and upper bounds of an integer array space."""
    if isinstance(space, spaces.MultiDiscrete):
        return np.zeros(space.nvec.size, np.float32), (space.nvec - 1).ravel().astype(np.float32)
    return space.low.ravel().astype(np.float32), space.high.ravel().astype(np.float32)
