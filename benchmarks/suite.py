"""What the comparison runs: the task suite and the algorithms, one entry each.

To add an algorithm, add one entry to :data:`ALGORITHMS`: a name, a trainer (``(train env kwargs,
steps, seed, checkpoints) -> Trained``, see :mod:`benchmarks.trainers`) and a line for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sb3_contrib import QRDQN, MaskablePPO
from stable_baselines3 import A2C, DQN, PPO

from agents import dqn
from agents.sb3 import MaskableTextEditPolicy, TextEditActorCriticPolicy, TextEditDQNPolicy, TextEditQRDQNPolicy
from benchmarks.trainers import (
    BC_EPISODES,
    DQN_SETTINGS,
    QRDQN_SETTINGS,
    Trainer,
    baseline,
    qlearning_trainer,
    sb3,
    train_bc,
    train_dqn,
)
from textedit_env.policies import BASELINES as BASELINE_POLICIES


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
    "english-long-bleu": SuiteTask(
        {"preset": "english-long"}, "bundled real English sentences of 15-30 words, 1-4 corruptions"
    ),
}


@dataclass(frozen=True)
class Algorithm:
    trainer: Trainer
    note: str
    """one line for the report: what it is and how it is set up"""
    tasks: tuple[str, ...] | None = None
    """the tasks it runs on; None: all"""


ALGORITHMS: dict[str, Algorithm] = {
    "random": Algorithm(baseline(BASELINE_POLICIES["random"]), "uniform over the valid actions (stop included)"),
    "greedy": Algorithm(
        baseline(BASELINE_POLICIES["greedy"]),
        "one-step look-ahead: argmax of `action_rewards()` over valid actions, stop when nothing improves",
    ),
    "oracle": Algorithm(
        baseline(BASELINE_POLICIES["oracle"]),
        "`textedit_env.oracle.oracle_action` (minimal edit script; the upper bound)",
    ),
    "qlearning": Algorithm(
        qlearning_trainer("exact"),
        "`agents.qlearning` with its default `Args` (exact states); a table "
        "knows only the sentences it saw, none of the test split (tiny-bleu only)",
        tasks=("tiny-bleu",),
    ),
    "qlearning-alignment": Algorithm(
        qlearning_trainer("alignment"),
        '`agents.qlearning` with `state_key="alignment"`: '
        "keys from the alignment features, which transfer to unseen sentences",
    ),
    "bc": Algorithm(
        train_bc,
        f"`agents.bc` with its default `Args`, from {BC_EPISODES} oracle episodes of the train "
        "split (a Minari dataset); its steps are the demonstrations'",
    ),
    "dqn": Algorithm(train_dqn, f"`agents.dqn` with its default `Args` ({dqn.Args()})"),
    "sb3-dqn": Algorithm(sb3(DQN, "MultiInputPolicy", DQN_SETTINGS), f"SB3 `DQN`, `MultiInputPolicy`, {DQN_SETTINGS}"),
    "sb3-dqn-shared": Algorithm(
        sb3(DQN, TextEditDQNPolicy, DQN_SETTINGS), f"SB3 `DQN`, `agents.sb3.TextEditDQNPolicy`, {DQN_SETTINGS}"
    ),
    "sb3-qrdqn": Algorithm(
        sb3(QRDQN, "MultiInputPolicy", QRDQN_SETTINGS), f"sb3-contrib `QRDQN`, `MultiInputPolicy`, {QRDQN_SETTINGS}"
    ),
    "sb3-qrdqn-shared": Algorithm(
        sb3(QRDQN, TextEditQRDQNPolicy, QRDQN_SETTINGS),
        f"sb3-contrib `QRDQN`, `agents.sb3.TextEditQRDQNPolicy`, {QRDQN_SETTINGS}",
    ),
    "sb3-a2c": Algorithm(sb3(A2C, "MultiInputPolicy", {}), "SB3 `A2C`, `MultiInputPolicy`, defaults"),
    "sb3-a2c-shared": Algorithm(
        sb3(A2C, TextEditActorCriticPolicy, {}), "SB3 `A2C`, `agents.sb3.TextEditActorCriticPolicy`, defaults"
    ),
    "sb3-ppo": Algorithm(sb3(PPO, "MultiInputPolicy", {}), "SB3 `PPO`, `MultiInputPolicy`, defaults"),
    "sb3-ppo-shared": Algorithm(
        sb3(PPO, TextEditActorCriticPolicy, {}), "SB3 `PPO`, `agents.sb3.TextEditActorCriticPolicy`, defaults"
    ),
    "sb3-maskable-ppo": Algorithm(
        sb3(MaskablePPO, "MultiInputPolicy", {}),
        "sb3-contrib `MaskablePPO`, `MultiInputPolicy`, defaults, masks in training and evaluation",
    ),
    "sb3-maskable-ppo-shared": Algorithm(
        sb3(MaskablePPO, MaskableTextEditPolicy, {}),
        "sb3-contrib `MaskablePPO`, `agents.sb3.MaskableTextEditPolicy`, defaults, masks in training and evaluation",
    ),
}
BASELINES = ("random", "greedy", "oracle")
