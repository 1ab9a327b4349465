"""What the comparison runs: the task suite and the algorithms, one entry each.

To add an algorithm, add one entry to :data:`ALGORITHMS`: a name, a trainer (``(train env kwargs,
steps, seed, checkpoints) -> Trained``, see :mod:`benchmarks.trainers`) and a line for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.trainers import (
    BC_EPISODES,
    DQN_SETTINGS,
    Trainer,
    baseline,
    bc_trainer,
    qlearning_trainer,
    sb3,
    train_dqn,
    train_lm,
)
from textedit_agents.sb3 import recommended
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


SB3_ALGORITHMS = (
    ("dqn", "SB3", "sb3-dqn"),
    ("qrdqn", "sb3-contrib", "sb3-qrdqn"),
    ("a2c", "SB3", "sb3-a2c"),
    ("ppo", "SB3", "sb3-ppo"),
    ("ppo_mask", "sb3-contrib", "sb3-maskable-ppo"),
)
"""(rl-baselines3-zoo name, library, row name): each runs twice at its recommended settings
(textedit_agents/sb3_hyperparams.yml), with SB3's MultiInputPolicy and with the package's policy
(``-shared``), so that two rows differ only in the network"""


def sb3_algorithms() -> dict[str, Algorithm]:
    """The rows of :data:`SB3_ALGORITHMS`: SB3's own policy on the visible and small hidden tracks,
    the package's on every task."""
    rows = {}
    for zoo_name, library, name in SB3_ALGORITHMS:
        settings = recommended(zoo_name)
        masks = ", masks in training and evaluation" if zoo_name == "ppo_mask" else ""
        for row, policy, label, tasks in (
            (name, "MultiInputPolicy", "MultiInputPolicy", VISIBLE + SMALL_HIDDEN),
            (f"{name}-shared", settings.policy, f"textedit_agents.sb3.{settings.policy.__name__}", None),
        ):
            note = f"{library} `{settings.algo.__name__}`, `{label}`, {settings.kwargs}{masks}"
            rows[row] = Algorithm(sb3(settings.algo, policy, settings.kwargs), note, tasks=tasks)
    return rows


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
        "`textedit_agents.qlearning` with its default `Args` (exact states); a table "
        "knows only the sentences it saw, none of the test split (tiny-bleu only)",
        tasks=("tiny-bleu",),
    ),
    "qlearning-alignment": Algorithm(
        qlearning_trainer("alignment"),
        '`textedit_agents.qlearning` with `state_key="alignment"`: '
        "keys from the alignment features, which transfer to unseen sentences",
        tasks=VISIBLE,
    ),
    "qlearning-context": Algorithm(
        qlearning_trainer("context"),
        '`textedit_agents.qlearning` with `state_key="context"`: each edit among the words around it, '
        "keys that transfer "
        "with the reference hidden",
        tasks=SMALL_HIDDEN,
    ),
    "bc": Algorithm(
        bc_trainer(BC_EPISODES),
        f"`textedit_agents.bc` with its default `Args`, from {BC_EPISODES} oracle episodes of the train "
        "split (a Minari dataset); its steps are the demonstrations'",
        privileged="learns from the oracle (a teacher); acts on the text alone",
    ),
    "bc-budget": Algorithm(
        bc_trainer(),
        "`textedit_agents.bc` from a tenth of the budget in oracle episodes of the train split (5,000 at 50,000 steps, "
        "about 15,000 demonstrated steps), a fifth of it in gradient steps; its steps are the demonstrations'",
        tasks=HIDDEN,
        privileged="learns from the oracle (a teacher); acts on the text alone",
    ),
    "lm": Algorithm(
        train_lm,
        "`textedit_agents.lm_policy` with its default `Args` at 50,000 steps: "
        "a language model pretrained on the commands of "
        "0.4 x budget oracle episodes (20,000), then fine-tuned by RL on 4,096 states; its steps are the "
        "demonstrations' and the RL states. The reference hidden, words of 2 or more demonstration sentences "
        "read as their own token beside their placeholder",
        tasks=SMALL_HIDDEN,
        privileged="learns from the oracle (a teacher; its RL reward plays the oracle after each command); acts on "
        "the text alone",
    ),
    "dqn": Algorithm(train_dqn, f"`textedit_agents.dqn` with its default `Args` but {DQN_SETTINGS}"),
    **sb3_algorithms(),
}
NON_LEARNERS = ("random", "stop", "fluency", "greedy", "oracle")
