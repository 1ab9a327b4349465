"""Tabular Q-learning for small task sets.

The table only knows the states it has visited, so this agent is meant for a handful of short
sentences: ``preset="tiny", num_tasks=...`` or a ``dataset=[...]`` list with ``split="all"``; it
cannot generalize to sentences it never saw (use :mod:`agents.dqn` for that).

The update is exactly ``Q(s,a) <- Q(s,a) + alpha * (r + gamma * max_a' Q(s',a') - Q(s,a))`` with
the max over the valid actions of s' and no bootstrap from a terminal state (a truncated
episode does bootstrap). A state is the ``(text, reference)`` pair of strings. An action is
keyed by its edit ``(op, position, word)`` rather than its id: the environment shuffles the
candidate words every episode, so the same id writes different words in different episodes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from agents.common import Checkpoints, RunLogger, linear_schedule, make_env

State = tuple[str, str]
Edit = tuple[str, int, "str | None"]
CHECKPOINT = "qtable.json"


@dataclass
class Args:
    steps: int = 50_000
    seed: int = 0
    gamma: float = 1.0
    """episodes are short; with a step penalty, gamma = 1 makes the shortest edit path optimal
    (discounting instead favours paths that gain early, which can be longer)"""
    # Transitions and rewards are deterministic, so alpha = 1 is exact after one visit; a
    # schedule is there for stochastic task sets.
    alpha_start: float = 1.0
    alpha_end: float = 1.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.6
    """fraction of the steps over which epsilon and alpha decay linearly"""


class QTable:
    """Q-values by state and edit; an unseen pair is worth 0."""

    def __init__(self) -> None:
        self.q: dict[State, dict[Edit, float]] = {}

    def value(self, state: State, edit: Edit) -> float:
        return self.q.get(state, {}).get(edit, 0.0)

    def best(self, state: State, edits: list[Edit], rng: np.random.Generator | None = None) -> int:
        """Index of the highest-valued edit; ties go to a random one with ``rng``, else to the first."""
        values = np.array([self.value(state, e) for e in edits])
        best = np.flatnonzero(values == values.max())
        return int(rng.choice(best)) if rng is not None else int(best[0])

    def update(self, state: State, edit: Edit, reward: float, next_state: State, next_edits: list[Edit],
               terminated: bool, alpha: float, gamma: float) -> float:
        """One Q-learning update; ``next_edits`` are the valid edits of ``next_state``. Returns the TD error."""
        bootstrap = 0.0 if terminated else max(self.value(next_state, e) for e in next_edits)
        error = reward + gamma * bootstrap - self.value(state, edit)
        self.q.setdefault(state, {})[edit] = self.value(state, edit) + alpha * error
        return error

    def save(self, path: Path, meta: dict) -> None:
        rows = [[s[0], s[1], [[op, p, w, v] for (op, p, w), v in edits.items()]] for s, edits in self.q.items()]
        path.write_text(json.dumps({**meta, "q": rows}))

    @classmethod
    def load(cls, path: Path) -> tuple[QTable, dict]:
        data = json.loads(path.read_text())
        table = cls()
        table.q = {(text, ref): {(op, p, w): v for op, p, w, v in edits} for text, ref, edits in data.pop("q")}
        return table, data


def valid_edits(env: gym.Env) -> tuple[np.ndarray, list[Edit]]:
    """The valid action ids of the current state and their edits."""
    actions = np.flatnonzero(env.unwrapped.action_masks())
    return actions, [env.unwrapped.decode_action(int(a)) for a in actions]


def state_of(info: dict) -> State:
    return info["text"], info["reference"]


class Agent:
    """A Q-table as a greedy policy (``agent(env, obs, info) -> action``)."""

    def __init__(self, table: QTable, args: Args, env_kwargs: dict):
        self.table, self.args, self.env_kwargs = table, args, env_kwargs

    def __call__(self, env: gym.Env, obs, info: dict) -> int:
        actions, edits = valid_edits(env)
        return int(actions[self.table.best(state_of(info), edits)])

    def save(self, out_dir: Path) -> Path:
        path = Path(out_dir) / CHECKPOINT
        self.table.save(path, {"algo": "qlearning", "args": asdict(self.args), "env_kwargs": self.env_kwargs})
        return path

    @classmethod
    def load(cls, out_dir: Path) -> Agent:
        table, meta = QTable.load(Path(out_dir) / CHECKPOINT)
        return cls(table, Args(**meta["args"]), meta["env_kwargs"])


def train(args: Args, env_kwargs: dict, out_dir: Path, progress: bool = True, checkpoints: Checkpoints | None = None) -> Agent:
    env = make_env(env_kwargs)
    rng = np.random.default_rng(args.seed)
    table = QTable()
    logger = RunLogger(Path(out_dir), args.steps, {"algo": "qlearning", "args": asdict(args), "env_kwargs": env_kwargs}, progress)
    decay = args.exploration_fraction * args.steps

    _, info = env.reset(seed=args.seed)
    actions, edits = valid_edits(env)
    episode_return, episode_length = 0.0, 0
    for step in range(args.steps):
        epsilon = linear_schedule(args.epsilon_start, args.epsilon_end, decay, step)
        alpha = linear_schedule(args.alpha_start, args.alpha_end, decay, step)
        state = state_of(info)
        # Exploit with random tie-breaking: the table starts at 0 everywhere, and always taking the
        # first tied action (stop) would end every new episode at once.
        i = int(rng.integers(len(actions))) if rng.random() < epsilon else table.best(state, edits, rng)
        _, reward, terminated, truncated, info = env.step(int(actions[i]))
        next_actions, next_edits = valid_edits(env)
        table.update(state, edits[i], reward, state_of(info), next_edits, terminated, alpha, args.gamma)
        actions, edits = next_actions, next_edits
        episode_return, episode_length = episode_return + reward, episode_length + 1
        if terminated or truncated:
            logger.episode(step + 1, episode_return, episode_length, info["solved"], info["score"])
            _, info = env.reset()
            actions, edits = valid_edits(env)
            episode_return, episode_length = 0.0, 0
        if checkpoints is not None:
            checkpoints.reached(step + 1, lambda: Agent(table, args, env_kwargs))
        logger.advance(1)
    logger.close()
    agent = Agent(table, args, env_kwargs)
    agent.save(Path(out_dir))
    return agent
