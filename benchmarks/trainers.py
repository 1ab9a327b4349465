"""Trainers of the comparison: each turns (training env kwargs, steps, seed, checkpoints) into a
trained policy. :func:`sb3` makes the trainer of any stable-baselines3 / sb3-contrib algorithm from
its class, its policy and its settings."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from sb3_contrib import MaskablePPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger

from textedit_agents import bc, dqn, lm_policy, qlearning
from textedit_agents.env_util import make_env
from textedit_agents.training import Checkpoints
from textedit_env.policies import Policy

PUBLIC_ID = "textedit_env:TextEdit-v0"
TRAIN_EPISODE_STEPS = 10
"""training episodes are cut at 10 steps for every learner (the oracle needs a few edits); evaluation keeps
the env's 50"""
GAMMA = 0.5
"""the discount of every learner (textedit_agents.dqn's default): rows differ in the algorithm, not the objective"""


@dataclass
class Trained:
    policy: Policy
    env_steps: int = 0
    """environment steps of training (0: a baseline that does not learn)"""
    config: dict = field(default_factory=dict)
    """the hyperparameters used, recorded with the run"""


# (training env kwargs, steps, seed, checkpoints) -> Trained
Trainer = Callable[[dict, int, int, Checkpoints], Trained]


def baseline(policy_of_seed: Callable[[int], Policy]) -> Trainer:
    return lambda env_kwargs, steps, seed, checkpoints: Trained(policy_of_seed(seed))


DQN_SETTINGS = {
    "train_episode_steps": TRAIN_EPISODE_STEPS,
    "gamma": GAMMA,
    "step_cost": 0.0,
    "reward_scale": 1.0,
    "read_gains": False,
}
"""what the comparison's DQN changes of `dqn.Args`: neither step cost, reward scale nor action gains, because its
rows were all recorded before they existed (with them it would be a new row)"""


def train_dqn(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
    args = dqn.Args(steps=steps, seed=seed, **DQN_SETTINGS)
    with tempfile.TemporaryDirectory() as out:
        agent = dqn.train(args, env_kwargs, Path(out), progress=False, checkpoints=checkpoints)
    return Trained(agent, -(-steps // args.num_envs) * args.num_envs, asdict(args))


def qlearning_trainer(state_key: str) -> Trainer:
    def train(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
        # No reference starts, gains or step cost: the comparison's Q-learning rows were all trained
        # without them (with them it would be a new row).
        args = qlearning.Args(
            steps=steps,
            seed=seed,
            state_key=state_key,
            gamma=GAMMA,
            reference_starts=0.0,
            read_gains=False,
            step_cost=0.0,
        )
        with tempfile.TemporaryDirectory() as out:
            agent = qlearning.train(
                args,
                {**env_kwargs, "max_episode_steps": TRAIN_EPISODE_STEPS},
                Path(out),
                progress=False,
                checkpoints=checkpoints,
            )
        return Trained(agent, steps, asdict(args))

    return train


BC_EPISODES = 300
"""oracle demonstrations behaviour cloning learns from"""


def bc_trainer(episodes: int | None = None, **arguments: Any) -> Trainer:
    """Behaviour cloning from oracle episodes of the training split (a Minari dataset written to a
    temporary directory), with :mod:`textedit_agents.bc`'s defaults updated by ``arguments``: ``episodes`` of
    them, or with None, a tenth of the budget ``steps`` (about a third of the budget in demonstrated
    steps) and a fifth of it in gradient steps. Its environment steps are the demonstrations'; it has
    no learning curve over them."""

    def train(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
        from textedit_env.collect import collect

        count = episodes if episodes is not None else max(1, steps // 10)
        settings = arguments if episodes is not None else {"steps": max(1, steps // 5), **arguments}
        with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as out:
            os.environ["MINARI_DATASETS_PATH"] = data  # a worker process of its own: nothing else reads it
            collect("oracle", count, env_kwargs, "textedit/demonstrations-v0", seed=seed * count)
            args = bc.Args(dataset="textedit/demonstrations-v0", seed=seed, **settings)
            agent = bc.train(args, {}, Path(out), progress=False)
            demonstrated = json.loads((Path(out) / "config.json").read_text())["demonstrated_steps"]
        return Trained(agent, demonstrated, {**asdict(args), "episodes": count})

    return train


def train_lm(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
    """The language-model policy with :mod:`textedit_agents.lm_policy`'s defaults at the budget of 50,000 steps:
    pretrained on the oracle's commands in ``0.4 * steps`` episodes (20,000: about the budget in
    demonstrated steps), then fine-tuned by RL on 4,096 states (scaled down for smaller budgets). Its
    environment steps: the demonstrations' and the RL stage's states; no learning curve."""
    args = lm_policy.Args(
        seed=seed, pretrain_episodes=max(1, 2 * steps // 5), steps=min(lm_policy.Args.steps, max(16, steps // 12))
    )
    with tempfile.TemporaryDirectory() as out:
        agent = lm_policy.train(args, env_kwargs, Path(out), progress=False)
        demonstrated = json.loads((Path(out) / "config.json").read_text())["demonstrated_steps"]
    return Trained(agent, demonstrated + args.steps, asdict(args))


def predictor(model: BaseAlgorithm, masked: bool) -> Policy:
    """An SB3 model as a deterministic policy; with ``masked``, it gets the env's action masks."""

    def policy(env: gym.Env, obs: Any, info: dict) -> int:
        masks = {"action_masks": env.unwrapped.action_masks()} if masked else {}
        return int(model.predict(obs, deterministic=True, **masks)[0])

    return policy


class CheckpointCallback(BaseCallback):
    """Hands the model's current policy to the checkpoints as training passes them."""

    def __init__(self, checkpoints: Checkpoints, masked: bool):
        super().__init__()
        self.checkpoints, self.masked = checkpoints, masked

    def _on_step(self) -> bool:
        self.checkpoints.reached(self.num_timesteps, lambda: predictor(self.model, self.masked))
        return True


def learn_quietly(model: BaseAlgorithm, steps: int, callback: BaseCallback | None = None) -> None:
    """``model.learn`` with a logger that writes nothing: SB3's default one makes an empty
    ``SB3-<date>`` directory in the temporary folder at every ``learn`` (hundreds in a grid)."""
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.learn(steps, callback=callback)


def sb3(algo: type[BaseAlgorithm], policy: str | type, settings: dict) -> Trainer:
    """The trainer of an SB3 algorithm at ``settings`` (its keyword arguments; the recommended ones:
    :func:`textedit_agents.sb3.recommended`); with the reference hidden, the package's policies read
    the vocabulary's spelling too."""
    masked = algo is MaskablePPO

    def train(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
        env = make_vec_env(
            PUBLIC_ID, n_envs=1, seed=seed, env_kwargs={**env_kwargs, "max_episode_steps": TRAIN_EPISODE_STEPS}
        )
        config = dict(settings)
        spelling = {}
        base = make_env(env_kwargs).unwrapped
        if not isinstance(policy, str) and not base.observe_reference:
            spelling = {"policy_kwargs": {**config.get("policy_kwargs", {}), "spelling": base.vocabulary.itos}}
        # SB3 adds to the dicts it is given: a copy
        model = algo(policy, env, seed=seed, device="cpu", **copy.deepcopy({**config, **spelling}))
        learn_quietly(model, steps, CheckpointCallback(checkpoints, masked))
        env.close()
        recorded = {"policy": getattr(policy, "__name__", policy), **config, "spelling": bool(spelling)}
        return Trained(predictor(model, masked), model.num_timesteps, recorded)

    return train
