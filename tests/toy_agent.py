"""A toy agent, to show that a new agent is one file plus one registry line: it counts which
operation the oracle uses most on the training split, then always plays that operation at the
first position where it is valid, and stops after one edit."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from textedit_agents.agent import SavedAgent
from textedit_agents.arguments import check_fields
from textedit_agents.env_util import make_env
from textedit_agents.training import Checkpoints
from textedit_env.oracle import oracle_action

NAME = "toy"


@dataclass
class Args:
    steps: int = 100
    """oracle steps to count"""
    seed: int = 0
    """seeds the environment"""

    def __post_init__(self) -> None:
        check_fields(self, positive=("steps",), non_negative=("seed",))


class Agent(SavedAgent):
    NAME, ARGS, CHECKPOINT = NAME, Args, "toy.json"

    def __init__(self, op: str, args: Args, env_kwargs: dict):
        super().__init__(args, env_kwargs)
        self.op, self._edited = op, None  # the episode (env, resets) it has edited in

    def __call__(self, env: gym.Env, obs, info: dict) -> int:
        base = env.unwrapped
        if self._edited == (id(base), base.resets):  # one edit, then stop
            return base.encode_action("stop")
        self._edited = (id(base), base.resets)
        valid = base.action_masks().nonzero()[0]
        return int(next((a for a in valid if base.decode_action(int(a))[0] == self.op), valid[0]))

    def write_checkpoint(self, path: Path) -> None:
        path.write_text(json.dumps({"op": self.op}))

    @classmethod
    def read_checkpoint(cls, path: Path, args: Args, env_kwargs: dict) -> Agent:
        return cls(json.loads(path.read_text())["op"], args, env_kwargs)


def train(
    args: Args, env_kwargs: dict, out_dir: Path, progress: bool = True, checkpoints: Checkpoints | None = None
) -> Agent:
    env, ops = make_env(env_kwargs), Counter()
    env.reset(seed=args.seed)
    for _ in range(args.steps):
        action = oracle_action(env)
        ops[env.unwrapped.decode_action(action)[0]] += 1
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    agent = Agent(max(sorted(ops), key=ops.get), args, env_kwargs)
    out_dir.mkdir(parents=True, exist_ok=True)
    agent.save(out_dir)
    return agent
