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
    bc_trainer,
    qlearning_trainer,
    sb3,
    train_dqn,
    train_lm,
)
from textedit_env.policies import BASELINES as BASELINE_POLICIES
from textedit_env.tasks import PRESETS


@dataclass(frozen=True)
class SuiteTask:
    env_kwargs: dict[str, Any]
    description: str

    @property
    def hidden(self) -> bool:
        """Whether the reference is hidden (the ``fix-*`` tracks)."""
        return not PRESETS[self.env_kwargs["preset"]].observe_reference


SUITE: dict[str, SuiteTask] = {
    "tiny-bleu": SuiteTask({"preset": "tiny"}, "3-4 words, 8-word vocabulary (9 training references), 1 corruption"),
    "easy-bleu": SuiteTask({"preset": "easy"}, "3-6 words, 30-word vocabulary, 1-2 corruptions"),
    "medium-bleu": SuiteTask({"preset": "medium"}, "5-9 words and punctuation, 100-word vocabulary, 1-3 corruptions"),
    "medium-rougeL": SuiteTask({"preset": "medium", "reward": "rougeL"}, "as medium-bleu, paid in ROUGE-L F1"),
    "english-bleu": SuiteTask({"preset": "english"}, "bundled real English sentences (6-12 words), 1-3 corruptions"),
    "english-long-bleu": SuiteTask(
        {"preset": "english-long"}, "bundled real English sentences of 15-30 words, 1-4 corruptions"
    ),
    "fix-easy": SuiteTask(
        {"preset": "fix-easy"}, "reference hidden: generator, 3-6 words; a doubled article, a verb's number or a swap"
    ),
    "fix-medium": SuiteTask(
        {"preset": "fix-medium"},
        "reference hidden: generator, 5-9 words and a full stop; 1-2 of articles, agreement, confusion sets, swaps",
    ),
    "fix-hard": SuiteTask(
        {"preset": "fix-hard"},
        "reference hidden: generator, 7-13 words; 2-3 of every family, misspellings and swaps two apart included",
    ),
    "fix-ua": SuiteTask(
        {"preset": "fix-ua"}, "reference hidden: UA-GEC, real Ukrainian sentences and their annotators' corrections"
    ),
}
HIDDEN = tuple(task for task, spec in SUITE.items() if spec.hidden)
VISIBLE = tuple(task for task in SUITE if task not in HIDDEN)
SMALL_HIDDEN = ("fix-easy", "fix-medium")
"""hidden tracks whose action spaces (a few thousand actions) suit learners that go through every action in Python"""


@dataclass(frozen=True)
class Algorithm:
    trainer: Trainer
    note: str
    """one line for the report: what it is and how it is set up"""
    tasks: tuple[str, ...] | None = None
    """the tasks it runs on; None: all"""
    privileged: str = ""
    """what it reads of a hidden reference, if anything ("" for nothing): the report marks it"""


ALGORITHMS: dict[str, Algorithm] = {
    "random": Algorithm(baseline(BASELINE_POLICIES["random"]), "uniform over the valid actions (stop included)"),
    "stop": Algorithm(
        baseline(BASELINE_POLICIES["stop"]),
        "stop at once: the source as it is (the no-edit baseline of the hidden tracks)",
        tasks=HIDDEN,
    ),
    "fluency": Algorithm(
        baseline(BASELINE_POLICIES["fluency"]),
        "`textedit_env.policies.FluencyGreedy`: one-step look-ahead on a trigram model of the training split, "
        "among the edit vocabulary's words, stop when nothing gains 4 nats",
        tasks=HIDDEN,
    ),
    "greedy": Algorithm(
        baseline(BASELINE_POLICIES["greedy"]),
        "one-step look-ahead: argmax of `action_rewards()` over valid actions, stop when nothing improves",
        privileged="reads the reward of every action",
    ),
    "oracle": Algorithm(
        baseline(BASELINE_POLICIES["oracle"]),
        "`textedit_env.oracle.oracle_action` (minimal edit script; the upper bound)",
        privileged="reads the reference",
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
        tasks=VISIBLE,
    ),
    "qlearning-context": Algorithm(
        qlearning_trainer("context"),
        '`agents.qlearning` with `state_key="context"`: each edit among the words around it, keys that transfer '
        "with the reference hidden",
        tasks=SMALL_HIDDEN,
    ),
    "bc": Algorithm(
        bc_trainer(BC_EPISODES),
        f"`agents.bc` with its default `Args`, from {BC_EPISODES} oracle episodes of the train "
        "split (a Minari dataset); its steps are the demonstrations'",
        privileged="learns from the oracle (a teacher); acts on the text alone",
    ),
    "bc-budget": Algorithm(
        bc_trainer(),
        "`agents.bc` from a tenth of the budget in oracle episodes of the train split (5,000 at 50,000 steps, "
        "about 15,000 demonstrated steps), a fifth of it in gradient steps; its steps are the demonstrations'",
        tasks=HIDDEN,
        privileged="learns from the oracle (a teacher); acts on the text alone",
    ),
    "lm": Algorithm(
        train_lm,
        "`agents.lm` with its default `Args` at 50,000 steps: a language model pretrained on the commands of "
        "0.4 x budget oracle episodes (20,000), then fine-tuned by RL on 4,096 states; its steps are the "
        "demonstrations' and the RL states",
        tasks=SMALL_HIDDEN,
        privileged="learns from the oracle (a teacher; its RL reward plays the oracle after each command); acts on "
        "the text alone",
    ),
    "dqn": Algorithm(train_dqn, f"`agents.dqn` with its default `Args` ({dqn.Args()})"),
    "sb3-dqn": Algorithm(
        sb3(DQN, "MultiInputPolicy", DQN_SETTINGS),
        f"SB3 `DQN`, `MultiInputPolicy`, {DQN_SETTINGS}",
        tasks=VISIBLE + SMALL_HIDDEN,
    ),
    "sb3-dqn-shared": Algorithm(
        sb3(DQN, TextEditDQNPolicy, DQN_SETTINGS), f"SB3 `DQN`, `agents.sb3.TextEditDQNPolicy`, {DQN_SETTINGS}"
    ),
    "sb3-qrdqn": Algorithm(
        sb3(QRDQN, "MultiInputPolicy", QRDQN_SETTINGS),
        f"sb3-contrib `QRDQN`, `MultiInputPolicy`, {QRDQN_SETTINGS}",
        tasks=VISIBLE + SMALL_HIDDEN,
    ),
    "sb3-qrdqn-shared": Algorithm(
        sb3(QRDQN, TextEditQRDQNPolicy, QRDQN_SETTINGS),
        f"sb3-contrib `QRDQN`, `agents.sb3.TextEditQRDQNPolicy`, {QRDQN_SETTINGS}",
    ),
    "sb3-a2c": Algorithm(
        sb3(A2C, "MultiInputPolicy", {}), "SB3 `A2C`, `MultiInputPolicy`, defaults", tasks=VISIBLE + SMALL_HIDDEN
    ),
    "sb3-a2c-shared": Algorithm(
        sb3(A2C, TextEditActorCriticPolicy, {}), "SB3 `A2C`, `agents.sb3.TextEditActorCriticPolicy`, defaults"
    ),
    "sb3-ppo": Algorithm(
        sb3(PPO, "MultiInputPolicy", {}), "SB3 `PPO`, `MultiInputPolicy`, defaults", tasks=VISIBLE + SMALL_HIDDEN
    ),
    "sb3-ppo-shared": Algorithm(
        sb3(PPO, TextEditActorCriticPolicy, {}), "SB3 `PPO`, `agents.sb3.TextEditActorCriticPolicy`, defaults"
    ),
    "sb3-maskable-ppo": Algorithm(
        sb3(MaskablePPO, "MultiInputPolicy", {}),
        "sb3-contrib `MaskablePPO`, `MultiInputPolicy`, defaults, masks in training and evaluation",
        tasks=VISIBLE + SMALL_HIDDEN,
    ),
    "sb3-maskable-ppo-shared": Algorithm(
        sb3(MaskablePPO, MaskableTextEditPolicy, {}),
        "sb3-contrib `MaskablePPO`, `agents.sb3.MaskableTextEditPolicy`, defaults, masks in training and evaluation",
    ),
}
BASELINES = ("random", "stop", "fluency", "greedy", "oracle")
