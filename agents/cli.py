"""The ``textedit`` command: train and evaluate the reference agents, or edit a text yourself.

    textedit train [--algo {dqn,qlearning}] [--env-kwargs JSON] [--steps N] [--seed S] [--out DIR]
    textedit eval DIR [--episodes N] [--split SPLIT] [--seed S] [--json]
    textedit play [--env-kwargs JSON] [--seed S] [--source TEXT --reference TEXT]

``textedit train`` with no arguments trains DQN on the default ``TextEdit-v0`` (about half a minute
on two cores) and prints its evaluation on the test split beside a random agent and the oracle.
Bad arguments get a one-line error on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import torch

from agents import dqn, qlearning
from agents.common import evaluate_with_baselines, format_table, make_env, training_split
from agents.networks import ENCODERS
from textedit_env.tasks import FixedTaskSet

ALGOS = {"dqn": dqn, "qlearning": qlearning}
# Options that override a field of the algorithm's Args when given.
ALGO_OPTIONS = ("encoder", "dim", "layers", "num_envs", "batch_size", "learning_starts", "lr", "gamma", "device", "state_key")
SPLITS = ("train", "test", "all")
HELP = """commands:
  i POS WORD   insert WORD before unit POS (POS = length appends)
  d POS        delete unit POS
  r POS WORD   replace unit POS by WORD
  s            stop (end the episode)
  h            this help
  q            quit
positions count from 0; WORD must be one of the episode's words"""


class UsageError(Exception):
    """A bad argument: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of argparse's usage dump
        raise UsageError(message)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as err:
        print(f"textedit: error: {err}", file=sys.stderr)
        return 2


def build_parser() -> Parser:
    parser = Parser(prog="textedit", description="Train, evaluate and play the TextEdit-v0 environment.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    train = commands.add_parser("train", help="train an agent, then evaluate it beside random and oracle")
    train.add_argument("--algo", choices=sorted(ALGOS), default="dqn")
    train.add_argument("--env-kwargs", type=env_kwargs_arg, default={}, metavar="JSON", help="TextEdit-v0 keyword arguments")
    train.add_argument("--steps", type=positive_int, help="environment steps (default: the algorithm's)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, help="run directory (default: runs/ALGO-seedS)")
    train.add_argument("--encoder", choices=ENCODERS, help="dqn: the network's sequence encoder")
    train.add_argument("--dim", type=positive_int, help="dqn: network width")
    train.add_argument("--layers", type=positive_int, help="dqn: encoder layers")
    train.add_argument("--num-envs", type=positive_int, help="dqn: environments stepped together")
    train.add_argument("--batch-size", type=positive_int, help="dqn: replay batch size")
    train.add_argument("--learning-starts", type=int, help="dqn: steps before the first update")
    train.add_argument("--lr", type=float, help="dqn: learning rate")
    train.add_argument("--gamma", type=float, help="discount factor")
    train.add_argument("--device", help="dqn: torch device (cpu, cuda)")
    train.add_argument("--state-key", choices=qlearning.STATE_KEYS,
                       help="qlearning: exact (text, reference) states, or alignment keys that transfer to unseen sentences")
    train.add_argument("--eval-episodes", type=int, default=200, help="episodes of the final evaluation (0: none)")
    train.add_argument("--eval-split", choices=SPLITS, help="default: the held-out test split after training on train "
                       "(a table of exact states: the split it was trained on)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("eval", help="evaluate a trained agent greedily beside the oracle")
    evaluate.add_argument("dir", type=Path, help="a run directory written by train")
    evaluate.add_argument("--episodes", type=positive_int, default=200)
    evaluate.add_argument("--split", choices=SPLITS, help="default: the held-out test split after training on train "
                          "(a table of exact states: the split it was trained on)")
    evaluate.add_argument("--seed", type=int, default=1000, help="episode i resets with seed + i")
    evaluate.add_argument("--device", help="dqn: torch device")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=run_eval)

    play = commands.add_parser("play", help="edit a text toward the reference yourself (reads stdin)")
    play.add_argument("--env-kwargs", type=env_kwargs_arg, default={}, metavar="JSON")
    play.add_argument("--seed", type=int, default=None)
    play.add_argument("--source", help="start from this text (with --reference)")
    play.add_argument("--reference", help="edit toward this reference")
    play.set_defaults(run=run_play)
    return parser


# ------------------------------------------------------------------ argument types
def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def env_kwargs_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object of keyword arguments, got {text!r}")
    return value


def check_env_kwargs(env_kwargs: dict, **extra: Any):
    """The environment, or a UsageError saying why it rejects the arguments."""
    try:
        return make_env(env_kwargs, **extra)
    except Exception as err:  # the env's own validation: ValueError, TypeError, DatasetError, ...
        raise UsageError(f"--env-kwargs rejected by TextEdit-v0: {' '.join(str(err).split())}") from None


def check_device(device: str | None) -> None:
    if device is None:
        return
    try:
        torch.empty(0, device=device)
    except (RuntimeError, ValueError) as err:
        raise UsageError(f"device {device!r} is not available: {' '.join(str(err).split())}") from None


# ------------------------------------------------------------------ commands
def run_train(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)  # small networks: one thread is as fast and keeps runs reproducible
    check_env_kwargs(args.env_kwargs)
    if args.env_kwargs.get("observation_mode", "ids") != "ids":
        raise UsageError("the agents read the \"ids\" observations; drop observation_mode from --env-kwargs")
    check_device(args.device)
    module = ALGOS[args.algo]
    fields = {f.name for f in dataclasses.fields(module.Args)}
    overrides = {"seed": args.seed, **({"steps": args.steps} if args.steps else {})}
    for name in ALGO_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            if name not in fields:
                raise UsageError(f"--{name.replace('_', '-')} does not apply to --algo {args.algo}")
            overrides[name] = value
    algo_args = module.Args(**overrides)
    out = args.out or Path("runs") / f"{args.algo}-seed{args.seed}"
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} exists and is not a directory")
    if args.algo == "qlearning" and algo_args.state_key == "exact":
        warn_about_table_size(args.env_kwargs, algo_args.steps)
    print(f"training {args.algo} for {algo_args.steps} steps into {out}", file=sys.stderr)
    agent = module.train(algo_args, args.env_kwargs, out, progress=not args.no_progress)
    if args.eval_episodes > 0:
        result = evaluate_agent(agent, args.eval_episodes, 1000, args.eval_split)
        (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
        print(format_table(result))
    return 0


def warn_about_table_size(env_kwargs: dict, steps: int) -> None:
    """Say which tasks a table of exact states trains on, and warn when it cannot cover them."""
    task_set = make_env(env_kwargs).unwrapped.task_set
    if isinstance(task_set, FixedTaskSet):  # a finite set: say how the split divides it
        split, trained, total = training_split(env_kwargs), len(task_set.tasks), task_set.total_tasks
        if trained < total:
            print(f"qlearning trains on the {split!r} split: {trained} of the {total} tasks (pass \"split\": \"all\" in "
                  "--env-kwargs to train on every task)", file=sys.stderr)
    unseen = qlearning.unseen_start_share(env_kwargs, steps // 10)
    if unseen > 0.5:
        print(f"warning: about {unseen:.0%} of the training episodes would start in a state no earlier one started in: "
              f"a table of exact states cannot cover this task set in {steps} steps (try --state-key alignment, or "
              "--algo dqn)", file=sys.stderr)


def evaluate_agent(agent, episodes: int, seed: int, split: str | None) -> dict:
    """The agent beside the oracle and a random agent, on its default evaluation split unless one is
    given; for a table, also how many of the states met were in it (one line on stderr)."""
    split = split or agent.eval_split()
    check_env_kwargs(agent.env_kwargs, split=split)
    tabular, trained = isinstance(agent, qlearning.Agent), training_split(agent.env_kwargs)
    if tabular:
        if agent.args.state_key == "exact" and split != trained:
            print(f"note: a table of exact states knows only the states it visited on the {trained!r} split; "
                  f"on unseen sentences of the {split!r} split it can only guess", file=sys.stderr)
        agent.lookups = agent.known = 0
    result = {**evaluate_with_baselines(agent.env_kwargs, agent, episodes, seed, split),
              "trained_split": trained}
    if tabular:
        result.update(table_states=len(agent.table.q), table_entries=sum(map(len, agent.table.q.values())),
                      states_in_table=agent.known, states_met=agent.lookups)
        print(f"table: {result['table_states']} states, {result['table_entries']} entries; {agent.known} of the "
              f"{agent.lookups} states met in the evaluation ({agent.known / max(agent.lookups, 1):.0%}) were in it",
              file=sys.stderr)
    return result


def load_agent(run_dir: Path, device: str | None = None):
    if not run_dir.is_dir():
        raise UsageError(f"no run directory {str(run_dir)!r}")
    if (run_dir / dqn.CHECKPOINT).exists():
        return dqn.Agent.load(run_dir, device)
    if (run_dir / qlearning.CHECKPOINT).exists():
        return qlearning.Agent.load(run_dir)
    raise UsageError(f"{str(run_dir)!r} holds no checkpoint ({dqn.CHECKPOINT} or {qlearning.CHECKPOINT})")


def run_eval(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)
    check_device(args.device)
    agent = load_agent(args.dir, args.device)
    result = evaluate_agent(agent, args.episodes, args.seed, args.split)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def run_play(args: argparse.Namespace) -> int:
    if (args.source is None) != (args.reference is None):
        raise UsageError("--source and --reference go together")
    env = check_env_kwargs(args.env_kwargs, render_mode="ansi")
    options = {"source": args.source, "reference": args.reference} if args.reference is not None else None
    try:
        obs, info = env.reset(seed=args.seed, options=options)
    except ValueError as err:
        raise UsageError(str(err)) from None
    base = env.unwrapped
    print(env.render(), end="")
    print(f"words: {' '.join(base.candidates)}    (h for help)")
    steps, total = 0, 0.0
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            print()
            return 0
        try:
            action = parse_command(line, env)
        except ValueError as err:
            print(f"?? {err}")
            continue
        if action is None:  # help or an empty line
            continue
        if action == "quit":
            return 0
        _, reward, terminated, truncated, info = env.step(action)
        steps, total = steps + 1, total + reward
        print(env.render(), end="")
        print(f"reward {reward:+.4f}  score {info['score']:.4f}  return {total:+.4f}")
        if terminated or truncated:
            outcome = "solved" if info["solved"] else ("stopped" if terminated else "out of steps")
            print(f"{outcome} after {steps} steps, return {total:+.4f}, final score {info['score']:.4f}")
            return 0


def parse_command(line: str, env) -> int | str | None:
    """An action id, "quit", or None (help, empty line); ValueError says what is wrong."""
    base = env.unwrapped
    parts = line.split()
    if not parts:
        return None
    op, rest = parts[0].lower(), parts[1:]
    if op in ("h", "help"):
        print(HELP)
        print(f"words: {' '.join(base.candidates)}")
        return None
    if op in ("q", "quit"):
        return "quit"
    arity = {"s": 0, "d": 1, "i": 2, "r": 2}
    if op not in arity:
        raise ValueError(f"unknown command {parts[0]!r}; h for help")
    if len(rest) != arity[op]:
        raise ValueError(f"{op!r} takes {arity[op]} argument(s); h for help")
    if op == "s":
        return base.encode_action("stop")
    try:
        position = int(rest[0])
    except ValueError:
        raise ValueError(f"position {rest[0]!r} is not an integer") from None
    name = {"d": "delete", "i": "insert", "r": "replace"}[op]
    action = base.encode_action(name, position, rest[1] if op != "d" else None)
    if not base.action_masks()[action]:
        raise ValueError(f"{name} at {position} is not possible here (text length {len(base.text_units)})")
    return action


if __name__ == "__main__":
    sys.exit(main())
