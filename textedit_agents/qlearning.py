"""Tabular Q-learning, with an exact state key for small task sets or a key that transfers.

The update is exactly ``Q(s,a) <- Q(s,a) + alpha * (r + gamma * max_a' Q(s',a') - Q(s,a))`` with
the max over the valid actions of s' and no bootstrap from a terminal state (a truncated
episode does bootstrap). What s and a are is the *key* (``Args.state_key``):

- ``"exact"`` (default): a state is the ``(text, reference)`` pair of strings, an action its edit
  ``(op, position, word)`` (not its id: the environment shuffles the candidate words every
  episode). The table knows only the states it has visited, so this is for a handful of short
  sentences (``preset="tiny", num_tasks=...``, a ``dataset=[...]`` list); it cannot act on a
  sentence it never saw, and is evaluated on the split it was trained on.
- ``"alignment"``: computed from the observation alone with the alignment features of
  :mod:`textedit_agents.networks`: a state is (text length - reference length, words missing, words in
  surplus, whether the text is the reference), each clipped; an action is its operation and the
  context it would create or break (for an insert or replace: the agreeing context on each side,
  whether both sides join, whether the text lacks the word; for a delete or replace: the run
  through the unit, what deleting it would join, whether its word is in surplus). Many
  sentences share these keys, so the table transfers to sentences it never saw.
- ``"context"``, for the reference hidden (the alignment is then with the source, which says
  nothing of what is wrong): an action is its edit in its word context, the words around the place
  (``("replace", left, old, new, right)``, ``("insert", left, new, right)``, ``("delete", left,
  old, right)``, the text's ends as ``<s>`` and ``</s>``), and a state is (text length - source
  length, whether the text is the source). A table of such keys is a word-trigram model of fixes:
  it transfers to every sentence in which the same words meet.

With the alignment key the Q-values are built on the *gains* (``Args.read_gains``): an edit's
Q-value is the reward it pays now (``action_rewards()``, a function of the observation when the
reference is observed) plus its table entry, and the update above moves the entry as it would move
the Q-value. One alignment key stands for edits that gain much on one sentence and little on
another (with chrF, deleting a surplus word gains 0.32 inside a sentence and 0.02 at its end);
with the gain exact, the table has only to learn what comes after an edit. And it learns from the
reward less a step cost (``Args.step_cost``, 0.01 there) for every action but stop, so that an
edit undone later is a loss (``benchmarks/results/stopping.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import gymnasium as gym
import numpy as np
import torch

from textedit_agents.agent import SavedAgent
from textedit_agents.arguments import check_fields
from textedit_agents.env_util import make_env, training_split
from textedit_agents.logger import RunLogger
from textedit_agents.networks import OBSERVATION_KEYS, AlignmentFeatures
from textedit_agents.runs import Durability, EpisodeRecorder, generator_from, generator_state, replay, resume_or_start
from textedit_agents.storage import run_config
from textedit_agents.training import Checkpoints, check_finite, linear_schedule
from textedit_env.actions import SLOT_FIRST, STOP_ACTION
from textedit_env.metrics.base import join_units
from textedit_env.tasks import FixedTaskSet
from textedit_env.wrappers import StartAtReference, action_gains

State = tuple
EditKey = tuple
NAME = "qlearning"
StateKey = Literal["exact", "alignment", "context"]
STATE_KEYS: tuple[str, ...] = get_args(StateKey)


@dataclass
class Args:
    steps: int = 50_000
    """environment steps"""
    seed: int = 0
    """seeds the exploration and the environment"""
    state_key: StateKey = "exact"
    """exact (text, reference) states; alignment keys, which transfer to unseen sentences; context keys
    (the words around each edit), which transfer with the reference hidden"""
    gamma: float = 0.5
    """as textedit_agents.dqn's: without a step penalty every path to the reference earns the same
    undiscounted return, and with gamma near 1 an edit undone later looks as good as the right one"""
    alpha_start: float | None = None
    """None: 1.0 with the exact key (transitions and rewards are deterministic, so one visit is
    exact), 0.1 with the alignment key (one key stands for many sentences, whose rewards differ)"""
    alpha_end: float | None = None
    """None: alpha_start"""
    epsilon_start: float = 1.0
    """exploration rate at the start"""
    epsilon_end: float = 0.05
    """exploration rate after exploration_fraction of the steps"""
    exploration_fraction: float = 0.6
    """fraction of the steps over which epsilon and alpha decay linearly"""
    reference_starts: float = 0.1
    """share of training episodes that start at their reference, where the best action is to stop
    (as textedit_agents.dqn's: an episode that reaches the reference ends there, so the table would
    otherwise never hold that state)"""
    step_cost: float | None = None
    """subtracted from the reward of every action but stop in what the table learns from (the env's
    rewards and returns are unchanged), as textedit_agents.dqn's: without it every path to the same
    text earns the same, so an edit undone later costs the table nothing; None: 0.01 with the gains
    read (read_gains), else 0"""
    read_gains: bool | None = None
    """build each edit's Q-value on its one-step gain (the reward it pays now, a function of the
    observation when the reference is observed: textedit_env.wrappers.ActionGains), so that the table
    learns only what comes after it; None: with the alignment key, whose keys cannot tell a large gain
    from a small one"""

    def __post_init__(self) -> None:
        if self.state_key not in STATE_KEYS:
            raise ValueError(f"state_key={self.state_key!r} is not supported; expected one of {STATE_KEYS}")
        check_fields(
            self,
            positive=("steps",),
            non_negative=("seed",),
            unit_interval=("gamma", "epsilon_start", "epsilon_end", "exploration_fraction", "reference_starts"),
        )
        for name in ("alpha_start", "alpha_end"):
            if getattr(self, name) is not None:
                check_fields(self, unit_interval=(name,))
        if self.step_cost is not None:
            check_fields(self, non_negative=("step_cost",))

    def reads_gains(self) -> bool:
        """read_gains, with None resolved by the key."""
        return self.read_gains if self.read_gains is not None else self.state_key == "alignment"

    def cost(self) -> float:
        """step_cost, with None resolved by read_gains."""
        return self.step_cost if self.step_cost is not None else (0.01 if self.reads_gains() else 0.0)

    def alphas(self) -> tuple[float, float]:
        """alpha_start and alpha_end, with the key's default for those left at None."""
        start = self.alpha_start if self.alpha_start is not None else (1.0 if self.state_key == "exact" else 0.1)
        return start, self.alpha_end if self.alpha_end is not None else start


class QTable:
    """Q-values by state and edit; an unseen pair is worth 0. With ``gains`` (each edit's one-step
    gain, :attr:`Args.read_gains`) an edit's Q-value is its gain plus its entry."""

    def __init__(self) -> None:
        self.q: dict[State, dict[EditKey, float]] = {}

    def value(self, state: State, edit: EditKey) -> float:
        return self.q.get(state, {}).get(edit, 0.0)

    def values(self, state: State, edits: list[EditKey], gains: np.ndarray | None = None) -> np.ndarray:
        """The Q-value of each of ``edits`` in ``state``."""
        entries = np.array([self.value(state, e) for e in edits])
        return entries if gains is None else entries + gains

    def best(
        self,
        state: State,
        edits: list[EditKey],
        rng: np.random.Generator | None = None,
        gains: np.ndarray | None = None,
    ) -> int:
        """Index of the highest-valued edit; ties go to a random one with ``rng``, else to the first."""
        values = self.values(state, edits, gains)
        best = np.flatnonzero(values == values.max())
        return int(rng.choice(best)) if rng is not None else int(best[0])

    def update(
        self,
        state: State,
        edit: EditKey,
        reward: float,
        next_state: State,
        next_edits: list[EditKey],
        terminated: bool,
        alpha: float,
        gamma: float,
        gain: float = 0.0,
        next_gains: np.ndarray | None = None,
    ) -> float:
        """One Q-learning update; ``next_edits`` are the valid edits of ``next_state``, ``gain`` and
        ``next_gains`` the one-step gains of ``edit`` and of them when the Q-values are built on the
        gains (the entry then moves as the Q-value would). Returns the TD error."""
        bootstrap = 0.0 if terminated else float(self.values(next_state, next_edits, next_gains).max())
        error = reward + gamma * bootstrap - (gain + self.value(state, edit))
        self.q.setdefault(state, {})[edit] = self.value(state, edit) + alpha * error
        return error

    def rows(self) -> list[list]:
        """The table as plain data: ``[*state, [[*edit, value], ...]]`` per state."""
        return [[*state, [[*edit, v] for edit, v in edits.items()]] for state, edits in self.q.items()]

    @classmethod
    def from_rows(cls, rows: list[list]) -> QTable:
        table = cls()
        table.q = {tuple(state): {tuple(edit): float(v) for *edit, v in edits} for *state, edits in rows}
        return table

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"q": self.rows()}))

    @classmethod
    def read(cls, path: Path) -> QTable:
        try:
            return cls.from_rows(json.loads(path.read_text())["q"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as err:
            raise ValueError(f"{str(path)!r} is not a readable Q-table: {type(err).__name__}: {err}") from None


# A key function: (env, observation, info) -> (state key, valid action ids, their action keys).
Keys = Callable[[gym.Env, dict, dict], tuple[State, np.ndarray, list[EditKey]]]


def exact_keys(env: gym.Env, obs: dict, info: dict) -> tuple[State, np.ndarray, list[EditKey]]:
    """The ``(text, reference)`` pair (the reference hidden: ``(text, source)``), and each valid
    action's ``(op, position, word)``."""
    base = env.unwrapped
    actions = np.flatnonzero(base.action_masks())
    shown = info["reference"] if base.observe_reference else join_units(base.source_units, base.unit)
    return (info["text"], shown), actions, [base.decode_action(int(a)) for a in actions]


def context_keys(env: gym.Env, obs: dict, info: dict) -> tuple[State, np.ndarray, list[EditKey]]:
    """Each valid action's edit among the words around it (see the module docstring)."""
    base = env.unwrapped
    text, source = base.text_units, base.source_units
    padded = ["<s>", *text, "</s>"]  # unit p is padded[p + 1]
    actions = np.flatnonzero(base.action_masks())
    keys: list[EditKey] = []
    for a in actions.tolist():
        op, p, word = base.decode_action(a)
        if op == "stop":
            keys.append(("stop",))
        elif op == "insert":
            keys.append(("insert", padded[p], word, padded[p + 1]))
        elif op == "delete":
            keys.append(("delete", padded[p], padded[p + 1], padded[p + 2]))
        else:
            keys.append(("replace", padded[p], padded[p + 1], word, padded[p + 2]))
    return (max(-2, min(2, len(text) - len(source))), text == source), actions, keys


@cache
def alignment_features(max_length: int, num_candidates: int) -> AlignmentFeatures:
    """One parameter-free feature module per layout, built once rather than at every step."""
    return AlignmentFeatures(max_length, num_candidates)


def alignment_keys(env: gym.Env, obs: dict, info: dict) -> tuple[State, np.ndarray, list[EditKey]]:
    """Keys that many sentences share, from the observation's alignment features (see the module docstring)."""
    base = env.unwrapped
    batch = {k: torch.as_tensor(np.asarray(obs[k])[None]) for k in OBSERVATION_KEYS}
    with torch.no_grad():
        f = alignment_features(base.max_length, base.num_candidates)(batch)
    # The unit features are run lengths in sixths (or thirds) of the counted context: small integers.
    unit = np.rint(f["unit"][0].numpy() * 6).astype(int)
    through, joins, surplus = unit[:, 4], unit[:, 7], unit[:, 8]
    insert, replace = f["insert"][0].numpy(), f["replace"][0].numpy()
    actions = np.flatnonzero(f["mask"][0].numpy())
    insert0, replace0, K = base.codec.op_ranges["insert"][0], base.codec.op_ranges["replace"][0], base.codec.K
    keys: list[EditKey] = []
    for a in actions.tolist():
        if a == 0:
            keys.append(("stop",))
        elif a < insert0:
            keys.append(("delete", through[a - 1], joins[a - 1], surplus[a - 1]))
        elif a < replace0:
            p, k = divmod(a - insert0, K)
            keys.append(("insert", int(insert[p, k])))
        else:
            p, k = divmod(a - replace0, K)
            keys.append(("replace", int(replace[p, k]), through[p], surplus[p]))
    text_len, ref_len = (int(n) for n in obs["lengths"])
    text, ref = np.asarray(obs["text_slots"][:text_len]), np.asarray(obs["reference_slots"][:ref_len])
    size = base.num_candidates + SLOT_FIRST
    difference = np.bincount(text, minlength=size) - np.bincount(ref, minlength=size)
    state = (
        int(np.clip(text_len - ref_len, -2, 2)),
        int(min(np.maximum(-difference, 0).sum(), 3)),
        int(min(np.maximum(difference, 0).sum(), 3)),
        bool(text_len == ref_len and (text == ref).all()),
    )
    return state, actions, [tuple(int(x) if not isinstance(x, str) else x for x in key) for key in keys]


KEYS: dict[str, Keys] = {"exact": exact_keys, "alignment": alignment_keys, "context": context_keys}


def gains_of(args: Args, env: gym.Env, actions: np.ndarray) -> np.ndarray | None:
    """The one-step gains of ``actions`` when the Q-values are built on them, else None."""
    return action_gains(env)[actions].astype(np.float64) if args.reads_gains() else None


def unseen_start_share(env_kwargs: dict, episodes: int, seed: int = 0) -> float:
    """About what share of ``episodes`` training episodes starts in an (exact) state that no
    earlier episode started in: the Good-Turing estimate (singletons over draws) from drawing
    that many start states (at most 20,000)."""
    env, counts = make_env(env_kwargs), {}
    env.reset(seed=seed)
    draws = max(1, min(episodes, 20_000))
    for _ in range(draws):
        _, info = env.reset()
        start = (info["text"], info["reference"])
        counts[start] = counts.get(start, 0) + 1
    return sum(1 for n in counts.values() if n == 1) / draws


class Agent(SavedAgent):
    """A Q-table as a greedy policy (``agent(env, obs, info) -> action``); it counts how many of the
    states it is asked about are in its table (``lookups``, ``known``)."""

    NAME, ARGS, CHECKPOINT, RESUMABLE = NAME, Args, "qtable.json", True
    ADDED_ARGS = {"step_cost": 0.0, "read_gains": False}

    def __init__(self, table: QTable, args: Args, env_kwargs: dict):
        super().__init__(args, env_kwargs)
        self.table, self.keys = table, KEYS[args.state_key]
        self.lookups = self.known = 0

    def __call__(self, env: gym.Env, obs, info: dict) -> int:
        state, actions, edits = self.keys(env, obs, info)
        self.lookups, self.known = self.lookups + 1, self.known + (state in self.table.q)
        return int(actions[self.table.best(state, edits, gains=gains_of(self.args, env, actions))])

    def write_checkpoint(self, path: Path) -> None:
        self.table.write(path)

    @classmethod
    def read_checkpoint(cls, path: Path, args: Args, env_kwargs: dict) -> Agent:
        return cls(QTable.read(path), args, env_kwargs)

    @classmethod
    def validate(cls, args: Args, env_kwargs: dict) -> None:
        """The alignment key and the gains read the reference."""
        if make_env(env_kwargs).unwrapped.observe_reference:
            return
        if args.state_key == "alignment":
            raise ValueError("state_key='alignment' reads the reference, which this environment hides; use 'context'")
        if args.reads_gains():
            raise ValueError("read_gains reads the reference, which this environment hides; pass read_gains=False")

    @classmethod
    def training_notes(cls, args: Args, env_kwargs: dict) -> list[str]:
        """Which tasks a table of exact states trains on, and a warning when it cannot cover them."""
        if args.state_key != "exact":
            return []
        notes, task_set = [], make_env(env_kwargs).unwrapped.task_set
        if isinstance(task_set, FixedTaskSet):  # a finite set: say how the split divides it
            split, trained, total = training_split(env_kwargs), len(task_set.tasks), task_set.total_tasks
            if trained < total:
                notes.append(
                    f"qlearning trains on the {split!r} split: {trained} of the {total} tasks (pass "
                    '"split": "all" in --env-kwargs to train on every task)'
                )
        unseen = unseen_start_share(env_kwargs, args.steps // 10)
        if unseen > 0.5:
            notes.append(
                f"warning: about {unseen:.0%} of the training episodes would start in a state no earlier one "
                f"started in: a table of exact states cannot cover this task set in {args.steps} steps (try "
                "--state-key alignment, or --algo dqn)"
            )
        return notes

    def eval_split(self) -> str:
        """The split it was trained on (with the exact key a table knows only those sentences),
        or the held-out one when the key transfers."""
        return training_split(self.env_kwargs) if self.args.state_key == "exact" else super().eval_split()

    def evaluation_notes(self, split: str) -> list[str]:
        self.lookups = self.known = 0
        trained = training_split(self.env_kwargs)
        if self.args.state_key == "exact" and split != trained:
            return [
                f"note: a table of exact states knows only the states it visited on the {trained!r} split; "
                f"on unseen sentences of the {split!r} split it can only guess"
            ]
        return []

    def evaluation_extras(self) -> tuple[dict, list[str]]:
        """The table's size and how many of the states met in the evaluation it held (coverage)."""
        extras = {
            "table_states": len(self.table.q),
            "table_entries": sum(map(len, self.table.q.values())),
            "states_in_table": self.known,
            "states_met": self.lookups,
        }
        note = (
            f"table: {extras['table_states']} states, {extras['table_entries']} entries; {self.known} of the "
            f"{self.lookups} states met in the evaluation ({self.known / max(self.lookups, 1):.0%}; the stop_rate "
            "probes at the references count too) were in it"
        )
        return extras, [note]


@dataclass
class TrainingState:
    """What the training loop needs to go on (see :mod:`textedit_agents.runs`)."""

    args: Args
    env_kwargs: dict
    table: QTable
    env: gym.Env
    rng: np.random.Generator
    obs: dict
    info: dict
    step: int = 0
    episode_return: float = 0.0
    episode_length: int = 0


def training_env(args: Args, env_kwargs: dict) -> EpisodeRecorder:
    """The environment training steps: a share of its episodes starts at the reference, and how each
    began is recorded (for a resume)."""
    return EpisodeRecorder(StartAtReference(make_env(env_kwargs), args.reference_starts))


def start(args: Args, env_kwargs: dict) -> TrainingState:
    """A new run's state: an empty table, the environment reset with the seed."""
    env = training_env(args, env_kwargs)
    obs, info = env.reset(seed=args.seed)
    return TrainingState(args, env_kwargs, QTable(), env, np.random.default_rng(args.seed), obs, info)


def state_dict(state: TrainingState) -> dict:
    """The training state as plain data (see :mod:`textedit_agents.runs`)."""
    return {
        "args": asdict(state.args),
        "env_kwargs": state.env_kwargs,
        "table": state.table.rows(),
        "env": state.env.record,
        "rng": generator_state(state.rng),
        "step": state.step,
        "episode_return": state.episode_return,
        "episode_length": state.episode_length,
    }


def restore(data: dict, steps: int | None = None) -> TrainingState:
    """The training state of :func:`state_dict`'s data, the environment replayed to where it was;
    ``steps``: the run's new total (None: its own)."""
    args = Agent.saved_args(data["args"], **({"steps": steps} if steps is not None else {}))
    env = training_env(args, data["env_kwargs"])
    obs, info = replay(env, data["env"])
    table, rng = QTable.from_rows(data["table"]), generator_from(data["rng"])
    state = TrainingState(args, data["env_kwargs"], table, env, rng, obs, info, data["step"])
    state.episode_return, state.episode_length = data["episode_return"], data["episode_length"]
    return state


def train(
    args: Args,
    env_kwargs: dict,
    out_dir: Path,
    progress: bool = True,
    checkpoints: Checkpoints | None = None,
    durability: Durability | None = None,
) -> Agent:
    """Train from scratch, or with ``durability.resume`` from its saved state (``args.steps`` is then
    the run's new total; every other argument is the saved run's)."""
    state = resume_or_start(durability, lambda: start(args, env_kwargs), restore)
    args, env_kwargs, env, rng, table = state.args, state.env_kwargs, state.env, state.rng, state.table
    Agent.validate(args, env_kwargs)
    keys = KEYS[args.state_key]
    alpha_start, alpha_end = args.alphas()
    decay = args.exploration_fraction * args.steps
    key, actions, edits = keys(env, state.obs, state.info)
    gains = gains_of(args, env, actions)
    config = run_config(NAME, args, env_kwargs)
    with RunLogger(Path(out_dir), args.steps, config, progress, start_step=state.step) as logger:
        while state.step < args.steps:
            epsilon = linear_schedule(args.epsilon_start, args.epsilon_end, decay, state.step)
            alpha = linear_schedule(alpha_start, alpha_end, decay, state.step)
            # Exploit with random tie-breaking: the table starts at 0 everywhere, and always taking the
            # first tied action (stop) would end every new episode at once.
            i = int(rng.integers(len(actions))) if rng.random() < epsilon else table.best(key, edits, rng, gains)
            state.obs, reward, terminated, truncated, state.info = env.step(int(actions[i]))
            next_key, next_actions, next_edits = keys(env, state.obs, state.info)
            # A terminal state is not bootstrapped from, and the reset below reads the next episode's gains.
            next_gains = None if terminated else gains_of(args, env, next_actions)
            learned = reward - (args.cost() if actions[i] != STOP_ACTION else 0.0)
            gain = float(gains[i]) if gains is not None else 0.0
            error = table.update(
                key, edits[i], learned, next_key, next_edits, terminated, alpha, args.gamma, gain, next_gains
            )
            key, actions, edits, gains = next_key, next_actions, next_edits, next_gains
            state.step += 1
            check_finite(error, state.step, "a Q-learning update")
            state.episode_return, state.episode_length = state.episode_return + reward, state.episode_length + 1
            if terminated or truncated:
                logger.episode(
                    state.step, state.episode_return, state.episode_length, state.info["solved"], state.info["score"]
                )
                state.obs, state.info = env.reset()
                key, actions, edits = keys(env, state.obs, state.info)
                gains = gains_of(args, env, actions)
                state.episode_return, state.episode_length = 0.0, 0
            if checkpoints is not None:
                checkpoints.reached(state.step, lambda: Agent(table, args, env_kwargs))
            logger.advance(1)
            if durability is not None:  # saves at the interval; on SIGINT/SIGTERM saves the state and table, raises
                durability.reached(state.step, lambda: state_dict(state), lambda: Agent(table, args, env_kwargs))
    agent = Agent(table, args, env_kwargs)
    agent.save(Path(out_dir))
    if durability is not None:
        durability.finished()
    return agent
