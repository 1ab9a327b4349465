"""What the comparison runs: the task suite and the algorithms, one entry each.

To add an algorithm, add one entry to :data:`ALGORITHMS`: a name, a trainer (``(train env kwargs,
steps, seed, checkpoints) -> Trained``) and a line for the report. :func:`sb3` makes the trainer
of any stable-baselines3 / sb3-contrib algorithm from its class, its policy and its settings.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
from sb3_contrib import QRDQN, MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from agents import dqn, qlearning
from agents.common import Checkpoints
from textedit_env.policies import Policy, greedy_policy, oracle_policy, random_policy
from textedit_env.sb3 import MaskableTextEditPolicy, TextEditActorCriticPolicy, TextEditDQNPolicy, TextEditQRDQNPolicy

PUBLIC_ID = "textedit_env:TextEdit-v0"
TRAIN_EPISODE_STEPS = 10
"""training episodes are cut at 10 steps for every learner (the oracle needs a few edits); evaluation keeps the env's 50"""
GAMMA = 0.5
"""the discount of every learner (agents.dqn's default): rows then differ in the algorithm, not in the objective"""


@dataclass(frozen=True)
class SuiteTask:
    env_kwargs: dict[str, Any]
    description: str


SUITE: dict[str, SuiteTask] = {
    "tiny-bleu": SuiteTask({"preset": "tiny"}, "3-4 words, 8-word vocabulary (9 training references), 1 corruption"),
    "easy-bleu": SuiteTask({"preset": "easy"}, "3-6 words, 30-word vocabulary, 1-2 corruptions"),
    "medium-bleu": SuiteTask({"preset": "medium"}, "5-9 words and punctuation, 100-word vocabulary, 1-3 corruptions"),
    "medium-rougeL": SuiteTask({"preset": "medium", "reward": "rougeL"}, "as medium-bleu, paid in ROUGE-L F1"),
    "english-bleu": SuiteTask({"preset": "english"}, "bundled real English sentences (6-12 words), 1-3 corruptions"),
    "english-long-bleu": SuiteTask({"preset": "english-long"}, "bundled real English sentences of 15-30 words, 1-4 corruptions"),
}


@dataclass
class Trained:
    policy: Policy
    env_steps: int = 0
    """environment steps of training (0: a baseline that does not learn)"""
    config: dict = field(default_factory=dict)
    """the hyperparameters used, recorded with the run"""


# (training env kwargs, steps, seed, checkpoints) -> Trained
Trainer = Callable[[dict, int, int, Checkpoints], Trained]


@dataclass(frozen=True)
class Algorithm:
    trainer: Trainer
    note: str
    """one line for the report: what it is and how it is set up"""
    tasks: tuple[str, ...] | None = None
    """the tasks it runs on; None: all"""


def baseline(policy_of_seed: Callable[[int], Policy]) -> Trainer:
    return lambda env_kwargs, steps, seed, checkpoints: Trained(policy_of_seed(seed))


def train_dqn(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
    args = dqn.Args(steps=steps, seed=seed, train_episode_steps=TRAIN_EPISODE_STEPS, gamma=GAMMA)
    with tempfile.TemporaryDirectory() as out:
        agent = dqn.train(args, env_kwargs, Path(out), progress=False, checkpoints=checkpoints)
    return Trained(agent, -(-steps // args.num_envs) * args.num_envs, asdict(args))


def qlearning_trainer(state_key: str) -> Trainer:
    def train(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
        args = qlearning.Args(steps=steps, seed=seed, state_key=state_key, gamma=GAMMA)
        with tempfile.TemporaryDirectory() as out:
            agent = qlearning.train(args, {**env_kwargs, "max_episode_steps": TRAIN_EPISODE_STEPS}, Path(out),
                                    progress=False, checkpoints=checkpoints)
        return Trained(agent, steps, asdict(args))

    return train


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


def sb3(algo: type[BaseAlgorithm], policy: str | type, settings: dict) -> Trainer:
    """The trainer of an SB3 algorithm: its defaults, the common discount, then ``settings``."""
    masked = algo is MaskablePPO

    def train(env_kwargs: dict, steps: int, seed: int, checkpoints: Checkpoints) -> Trained:
        env = make_vec_env(PUBLIC_ID, n_envs=1, seed=seed, env_kwargs={**env_kwargs, "max_episode_steps": TRAIN_EPISODE_STEPS})
        config = {"gamma": GAMMA, **settings}
        model = algo(policy, env, seed=seed, device="cpu", **copy.deepcopy(config))  # SB3 adds to the dicts it is given
        model.learn(steps, callback=CheckpointCallback(checkpoints, masked))
        env.close()
        return Trained(predictor(model, masked), model.num_timesteps, {"policy": getattr(policy, "__name__", policy), **config})

    return train


# SB3's value-based defaults assume millions of steps (a 1M buffer, the target copied every 10k
# steps): scaled to a budget of tens of thousands, as one would for a short run.
DQN_SETTINGS = {"buffer_size": 50_000, "learning_starts": 1_000, "target_update_interval": 1_000}
# QR-DQN's defaults are tuned for Atari (0.5% of the steps exploring): the same schedule as DQN's,
# and 25 quantiles instead of 200 (the shared network scores every action once per quantile).
QRDQN_SETTINGS = {**DQN_SETTINGS, "exploration_fraction": 0.1, "exploration_final_eps": 0.05, "policy_kwargs": {"n_quantiles": 25}}


ALGORITHMS: dict[str, Algorithm] = {
    "random": Algorithm(baseline(random_policy), "uniform over the valid actions (stop included)"),
    "greedy": Algorithm(baseline(lambda seed: greedy_policy),
                        "one-step look-ahead: argmax of `action_rewards()` over valid actions, stop when nothing improves"),
    "oracle": Algorithm(baseline(lambda seed: oracle_policy), "`textedit_env.oracle.oracle_action` (minimal edit script; the upper bound)"),
    "qlearning": Algorithm(qlearning_trainer("exact"), "`agents.qlearning` with its default `Args` (exact states); a table "
                           "knows only the sentences it saw, none of the test split (tiny-bleu only)", tasks=("tiny-bleu",)),
    "qlearning-alignment": Algorithm(qlearning_trainer("alignment"), "`agents.qlearning` with `state_key=\"alignment\"`: "
                                     "keys from the alignment features, which transfer to unseen sentences"),
    "dqn": Algorithm(train_dqn, f"`agents.dqn` with its default `Args` ({dqn.Args()})"),
    "sb3-dqn": Algorithm(sb3(DQN, "MultiInputPolicy", DQN_SETTINGS), f"SB3 `DQN`, `MultiInputPolicy`, {DQN_SETTINGS}"),
    "sb3-dqn-shared": Algorithm(sb3(DQN, TextEditDQNPolicy, DQN_SETTINGS),
                                f"SB3 `DQN`, `textedit_env.sb3.TextEditDQNPolicy`, {DQN_SETTINGS}"),
    "sb3-qrdqn": Algorithm(sb3(QRDQN, "MultiInputPolicy", QRDQN_SETTINGS), f"sb3-contrib `QRDQN`, `MultiInputPolicy`, {QRDQN_SETTINGS}"),
    "sb3-qrdqn-shared": Algorithm(sb3(QRDQN, TextEditQRDQNPolicy, QRDQN_SETTINGS),
                                  f"sb3-contrib `QRDQN`, `textedit_env.sb3.TextEditQRDQNPolicy`, {QRDQN_SETTINGS}"),
    "sb3-a2c": Algorithm(sb3(A2C, "MultiInputPolicy", {}), "SB3 `A2C`, `MultiInputPolicy`, defaults"),
    "sb3-a2c-shared": Algorithm(sb3(A2C, TextEditActorCriticPolicy, {}), "SB3 `A2C`, `textedit_env.sb3.TextEditActorCriticPolicy`, defaults"),
    "sb3-ppo": Algorithm(sb3(PPO, "MultiInputPolicy", {}), "SB3 `PPO`, `MultiInputPolicy`, defaults"),
    "sb3-ppo-shared": Algorithm(sb3(PPO, TextEditActorCriticPolicy, {}), "SB3 `PPO`, `textedit_env.sb3.TextEditActorCriticPolicy`, defaults"),
    "sb3-maskable-ppo": Algorithm(sb3(MaskablePPO, "MultiInputPolicy", {}),
                                  "sb3-contrib `MaskablePPO`, `MultiInputPolicy`, defaults, masks in training and evaluation"),
    "sb3-maskable-ppo-shared": Algorithm(sb3(MaskablePPO, MaskableTextEditPolicy, {}),
                                         "sb3-contrib `MaskablePPO`, `textedit_env.sb3.MaskableTextEditPolicy`, defaults, masks in training and evaluation"),
}
BASELINES = ("random", "greedy", "oracle")
