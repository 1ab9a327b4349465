"""Third-party algorithms train on TextEdit-v0 through the public API only, in subprocesses."""

import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

ENV_ID = "textedit_env:TextEdit-v0"


def vec_env(n_envs=2):
    return make_vec_env(ENV_ID, n_envs=n_envs, seed=0, vec_env_cls=SubprocVecEnv,
                        vec_env_kwargs={"start_method": "forkserver"})


@pytest.mark.parametrize(
    "algo, kwargs",
    [
        (DQN, {"learning_starts": 50, "buffer_size": 1000, "train_freq": 4}),
        (PPO, {"n_steps": 64, "batch_size": 64, "n_epochs": 2}),
        (MaskablePPO, {"n_steps": 64, "batch_size": 64, "n_epochs": 2}),
    ],
)
def test_sb3_algorithms_learn_through_subproc_vec_env(algo, kwargs):
    env = vec_env()
    try:
        model = algo("MultiInputPolicy", env, seed=0, device="cpu", **kwargs)
        model.learn(total_timesteps=300)
        assert model.num_timesteps >= 300
        obs = env.reset()
        if algo is MaskablePPO:
            masks = get_action_masks(env)
            assert masks.shape == (2, env.action_space.n) and masks.any(axis=1).all()
            actions, _ = model.predict(obs, action_masks=masks)
            assert masks[np.arange(2), actions].all()
        else:
            actions, _ = model.predict(obs)
        assert actions.shape == (2,)
    finally:
        env.close()
