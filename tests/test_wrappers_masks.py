"""The valid-action mask in the observation (textedit_env.wrappers.masks), in every layout."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from textedit_env.wrappers import FlatObservation, MaskInObservation
from textedit_env.wrappers.masks import LAYOUTS

ENV_KWARGS = {"preset": "tiny", "max_episode_steps": 10}


def make(**kwargs):
    return gym.make("TextEdit-v0", **{**ENV_KWARGS, **kwargs})


@pytest.mark.parametrize("flatten", [False, True])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_observation_carries_the_current_mask(layout, flatten):
    env = MaskInObservation(make(), layout, flatten=flatten)
    obs_key, mask_key = LAYOUTS[layout]
    assert set(env.observation_space.keys()) == {obs_key, mask_key}
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    masks = set()
    for _ in range(30):
        mask = obs[mask_key]
        assert env.observation_space.contains(obs)
        assert mask.dtype == np.bool_ and np.array_equal(mask, env.unwrapped.action_masks())
        masks.add(mask.tobytes())
        action = int(rng.choice(np.flatnonzero(mask[1:])) + 1)  # an edit, never stop
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    assert len(masks) > 1  # the mask follows the state


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_observation_part_is_the_env_observation(layout):
    plain, wrapped = make(), MaskInObservation(make(), layout)
    flat = MaskInObservation(make(), layout, flatten=True)
    obs_key = LAYOUTS[layout][0]
    expected, _ = plain.reset(seed=3)
    got, _ = wrapped.reset(seed=3)
    got_flat, _ = flat.reset(seed=3)
    assert all(np.array_equal(got[obs_key][k], expected[k]) for k in expected)
    assert np.array_equal(got_flat[obs_key], np.concatenate([expected[k] for k in plain.observation_space]))


def test_flat_observation_keeps_values_and_bounds():
    env = FlatObservation(make())
    space = env.observation_space
    obs, _ = env.reset(seed=1)
    assert obs.dtype == np.float32 and space.contains(obs)
    assert space.shape == (sum(int(np.prod(s.shape)) for s in make().observation_space.values()),)
    assert np.all(obs == np.round(obs)) and np.all(space.high >= obs)  # integer ids, not one-hot codes


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.parametrize("flatten", [False, True])
def test_passes_gymnasium_env_checker_and_is_rebuilt_from_its_spec(flatten):
    env = MaskInObservation(make(), "tianshou", flatten=flatten)
    check_env(env, skip_render_check=True)
    rebuilt = gym.make(env.spec)
    assert isinstance(rebuilt, MaskInObservation) and rebuilt.observation_space == env.observation_space


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="layout 'rllib'"):
        MaskInObservation(make(), "rllib")
    with pytest.raises(ValueError, match="observation_mode='ids'"):
        FlatObservation(make(observation_mode="text"))
    with pytest.raises(ValueError, match="Discrete action space"):
        MaskInObservation(_BoxActions(make()))


class _BoxActions(gym.ActionWrapper):
    """An env whose action space is not Discrete."""

    def __init__(self, env):
        super().__init__(env)
        self.action_space = gym.spaces.Box(0, 1, (1,))

    def action(self, action):
        return 0
