"""The ``textedit`` command (also ``python -m textedit_agents``): train and evaluate agents, collect
datasets, or edit a text yourself.

    textedit train [--algo ALGO] [--env-kwargs JSON] [--steps N] [--seed S] [--out DIR] [--resume | --overwrite]
    textedit eval DIR [--episodes N] [--split SPLIT] [--seed S] [--json]
    textedit collect --policy {oracle,greedy,random} --episodes N --dataset-id ID [--env-kwargs JSON]
    textedit play [--env-kwargs JSON] [--seed S] [--source TEXT --reference TEXT]

``textedit train`` with no arguments trains DQN on the default ``TextEdit-v0`` (about half a minute
on two cores) and prints its evaluation on the test split beside a random agent and the oracle.
Each algorithm's options are generated from its ``Args`` dataclass (``textedit train --algo ALGO
--help``). Bad arguments get a one-line error on stderr and exit code 2; an interrupted run saves
its state and exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn

from textedit_agents.agent import Agent
from textedit_agents.arguments import MAX_SEED
from textedit_agents.editing import EditResult
from textedit_agents.env_util import make_env, training_split
from textedit_agents.evaluation import evaluate_with_baselines, format_table
from textedit_agents.registry import AGENTS, MissingDependency, agent_module, field_docs, load_agent, missing_dependency
from textedit_agents.storage import RunDirectoryError, read_manifest, write_json
from textedit_agents.training import TrainingDiverged
from textedit_env.play import INTERRUPTED
from textedit_env.policies import BASELINES
from textedit_env.tasks import BUNDLED, SPLITS


class UsageError(Exception):
    """A bad argument: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of argparse's usage dump
        raise UsageError(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows every option's default."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(algo_of(argv))
        if not argv:
            parser.print_help()
            return 2
        args = parser.parse_args(argv)
        return args.run(args)
    except (UsageError, MissingDependency, RunDirectoryError, TrainingDiverged) as err:
        print(f"textedit: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a read-only directory: the system's reason, in one line
        where = f": {err.filename}" if err.filename else ""
        print(f"textedit: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return INTERRUPTED


def algo_of(argv: list[str]) -> str | None:
    """The --algo of a ``train`` command line (its options depend on it), else None."""
    if not argv or argv[0] != "train":
        return None
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--algo", default="dqn")
    algo = pre.parse_known_args(argv[1:])[0].algo
    if algo not in AGENTS:
        raise UsageError(f"--algo: invalid choice {algo!r} (choose from {', '.join(AGENTS)})")
    return algo


def build_parser(algo: str | None = None) -> Parser:
    """The command's parser; with ``algo``, ``train`` also takes that algorithm's options."""
    parser = Parser(
        prog="textedit",
        description="Train, evaluate and play the TextEdit-v0 environment.",
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train an agent, then evaluate it beside random and oracle",
        formatter_class=HelpFormatter,
        description="Train an agent, then evaluate it. The options of the chosen --algo "
        "follow (textedit train --algo ALGO --help lists them).",
    )
    train.add_argument("--algo", choices=list(AGENTS), default="dqn")
    add_env_kwargs(train)
    train.add_argument("--out", type=Path, help="run directory (default: runs/ALGO-seedSEED)")
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --out from its last saved state (--steps: the new total)",
    )
    train.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    train.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=10_000,
        metavar="STEPS",
        help="save the training state every STEPS environment steps (and on Ctrl-C)",
    )
    train.add_argument(
        "--eval-episodes", type=non_negative_int, default=200, help="episodes of the final evaluation (0: none)"
    )
    train.add_argument(
        "--eval-split",
        choices=SPLITS,
        help="default: the held-out test split after training on "
        "train (a table of exact states: the split it was trained on)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    if algo is not None:
        add_algo_options(train.add_argument_group(f"--algo {algo}"), agent_module(algo).Args)
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser(
        "eval", help="evaluate a trained agent greedily beside the oracle", formatter_class=HelpFormatter
    )
    evaluate.add_argument("dir", type=Path, help="a run directory written by train")
    evaluate.add_argument("--episodes", type=positive_int, default=200, help="episodes of each policy")
    evaluate.add_argument(
        "--split",
        choices=SPLITS,
        help="default: the held-out test split after training on "
        "train (a table of exact states: the split it was trained on)",
    )
    evaluate.add_argument("--seed", type=seed_int, default=1000, help="episode i resets with seed + i")
    evaluate.add_argument(
        "--env-kwargs",
        type=env_kwargs_arg,
        default={},
        metavar="JSON",
        help="TextEdit-v0 keyword arguments that replace the run's own (another dataset, reward, ...)",
    )
    evaluate.add_argument("--source", help="edit this one text (with --reference) and print each edit")
    evaluate.add_argument("--reference", help="the reference of --source")
    evaluate.add_argument("--device", help="torch device of a network (default: the one it trained on)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.set_defaults(run=run_eval)

    collect = commands.add_parser(
        "collect", help="write a Minari dataset of a baseline policy's episodes", formatter_class=HelpFormatter
    )
    collect.add_argument("--policy", choices=sorted(BASELINES), default="oracle", help="the policy that plays")
    collect.add_argument("--episodes", type=positive_int, default=300, help="episodes to record")
    add_env_kwargs(collect)
    collect.add_argument(
        "--dataset-id",
        required=True,
        metavar="ID",
        help="Minari dataset id, NAMESPACE/NAME-vN (e.g. textedit/easy-oracle-v0)",
    )
    collect.add_argument("--seed", type=seed_int, default=0, help="episode i resets with seed + i")
    collect.set_defaults(run=run_collect)

    play = commands.add_parser(
        "play", help="edit a text toward the reference yourself (reads stdin)", formatter_class=HelpFormatter
    )
    add_env_kwargs(play)
    play.add_argument("--seed", type=seed_int, default=None)
    play.add_argument("--source", help="start from this text (with --reference)")
    play.add_argument("--reference", help="edit toward this reference")
    play.add_argument("--agent", type=Path, metavar="RUN", help="watch the agent of this run directory play")
    play.set_defaults(run=run_play)
    return parser


# ------------------------------------------------------------------ options
def add_env_kwargs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-kwargs",
        type=env_kwargs_arg,
        default={},
        metavar="JSON",
        help="TextEdit-v0 keyword arguments, a JSON object",
    )


def add_algo_options(group: argparse._ArgumentGroup, args_class: type) -> None:
    """One option per field of an agent's Args: ``--field-name``, typed by its annotation, with its
    docstring as help. Options left out are not in the namespace (their Args default applies)."""
    hints, docs = typing.get_type_hints(args_class), field_docs(args_class)
    for f in dataclasses.fields(args_class):
        kind, optional = option_type(hints[f.name])
        option = "--" + f.name.replace("_", "-")
        help_text = f"{docs.get(f.name, '')} (default: {f.default})".strip()
        if kind is bool:
            group.add_argument(option, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        elif typing.get_origin(kind) is typing.Literal:
            group.add_argument(option, choices=typing.get_args(kind), default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(
                option,
                type=value_parser(kind, optional),
                default=argparse.SUPPRESS,
                metavar=kind.__name__.upper(),
                help=help_text,
            )


def option_type(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of an Args annotation: int, float, str, bool, a Literal, or X | None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kinds[0], True
    return annotation, False


def value_parser(kind: type, optional: bool):
    def parse(text: str):
        if optional and text.lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}{' or none' if optional else ''}, got {text!r}"
            ) from None

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def seed_int(text: str) -> int:
    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {text!r}")
    return value


def env_kwargs_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object of keyword arguments, got {text!r}")
    return absolute_paths(value)


def absolute_paths(env_kwargs: dict) -> dict:
    """``dataset`` and ``lm`` given as paths of existing files, made absolute: a run's configuration
    then works from any directory (a bundled dataset's name stays a name)."""
    resolved = dict(env_kwargs)
    for key in ("dataset", "lm"):
        value = resolved.get(key)
        if isinstance(value, str) and value not in BUNDLED and Path(value).exists():
            resolved[key] = str(Path(value).resolve())
    return resolved


def check_env_kwargs(env_kwargs: dict, **extra: Any):
    """The environment, or a UsageError saying why it rejects the arguments."""
    try:
        return make_env(env_kwargs, **extra)
    except Exception as err:  # the env's own validation: ValueError, TypeError, DatasetError, ...
        raise UsageError(f"--env-kwargs rejected by TextEdit-v0: {' '.join(str(err).split())}") from None


def check_device(device: str | None) -> None:
    if device is None:
        return
    import torch

    try:
        torch.empty(0, device=device)
    except (AssertionError, RuntimeError, ValueError) as err:  # CUDA on a CPU-only torch asserts
        raise UsageError(f"device {device!r} is not available: {' '.join(str(err).split())[:200]}") from None


# ------------------------------------------------------------------ train
def run_train(args: argparse.Namespace) -> int:
    import torch

    from textedit_agents.runs import Durability, RunInterrupted, StopOnSignal, claim

    torch.set_num_threads(1)  # small networks: one thread is as fast and keeps runs reproducible
    module = agent_module(args.algo)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(module.Args) if hasattr(args, f.name)}
    if args.resume and set(given) - {"steps"}:
        options = ", ".join("--" + name.replace("_", "-") for name in sorted(set(given) - {"steps"}))
        raise UsageError(
            f"--resume continues the saved run with its own arguments; only --steps may change (got {options})"
        )
    try:
        algo_args = module.Args(**given)
    except ValueError as err:
        name, _, rest = str(err).partition("=")  # "field=value: expected ..." names the option
        raise UsageError(f"--{name.replace('_', '-')} {rest}" if rest else str(err)) from None
    check_device(given.get("device"))
    check_env_kwargs(args.env_kwargs)
    if args.env_kwargs.get("observation_mode", "ids") != "ids":
        raise UsageError('the agents read the "ids" observations; drop observation_mode from --env-kwargs')
    try:
        module.Agent.validate(algo_args, args.env_kwargs)
    except ModuleNotFoundError as err:
        raise missing_dependency(err, f"--algo {args.algo}") from None
    except ValueError as err:
        raise UsageError(str(err)) from None
    resumable = module.Agent.RESUMABLE
    if args.resume and not resumable:
        raise UsageError(f"--algo {args.algo} cannot resume a run")
    out = args.out or Path("runs") / f"{args.algo}-seed{algo_args.seed}"
    if args.resume and args.env_kwargs:
        saved = saved_env_kwargs(out)
        if args.env_kwargs != saved:
            raise UsageError(
                f"--resume continues the saved run in its own environment ({json.dumps(saved)}); drop --env-kwargs "
                f"or start a new run (got {json.dumps(args.env_kwargs)})"
            )
    try:
        lock = claim(out, args.resume, args.overwrite)
    except RunDirectoryError as err:
        raise UsageError(str(err)) from None
    try:
        for note in [] if args.resume else module.Agent.training_notes(algo_args, args.env_kwargs):
            print(note, file=sys.stderr)
        durability = (
            Durability(out, args.algo, args.checkpoint_every, args.resume, given.get("steps")) if resumable else None
        )
        if args.resume:
            durability.load()  # a bad state file fails here, in one line, before anything is said or done
            total = f"to {given['steps']} steps" if "steps" in given else "to its own total of steps"
            print(f"resuming the {args.algo} run in {out} {total}", file=sys.stderr)
        else:
            print(f"training {args.algo} for {algo_args.steps} steps into {out}", file=sys.stderr)
        kwargs = {"durability": durability} if resumable else {}
        try:
            with StopOnSignal(durability) if durability else nullcontext():
                agent = module.train(algo_args, args.env_kwargs, out, progress=not args.no_progress, **kwargs)
        except RunInterrupted as stop:
            print(
                f"interrupted at step {stop.step}: the training state and the model so far are saved; evaluate it "
                f"with textedit eval {out}, continue with textedit train --algo {args.algo} --out {out} --resume",
                file=sys.stderr,
            )
            return INTERRUPTED
        except KeyboardInterrupt:
            print(
                "interrupted: nothing saved (this algorithm cannot resume)"
                if not resumable
                else "interrupted: the last saved training state is kept",
                file=sys.stderr,
            )
            return INTERRUPTED
        if args.eval_episodes > 0:
            result = evaluate_agent(agent, args.eval_episodes, 1000, args.eval_split, not args.no_progress)
            write_json(out / "eval.json", result)
            print(format_table(result))
        print(where_files_are(out), file=sys.stderr)
    finally:
        lock.release()
    return 0


def saved_env_kwargs(out: Path) -> dict:
    """The env kwargs of the run in ``out`` (its config.json)."""
    try:
        return json.loads((out / "config.json").read_text())["env_kwargs"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
        raise UsageError(f"{str(out)!r} holds no readable run configuration (config.json): {err}") from None


FILE_DESCRIPTIONS = {
    "agent.json": "which agent, its arguments and env kwargs (textedit eval reads it)",
    "config.json": "the training run's arguments",
    "episodes.csv": "one row per training episode: step, episode_return, episode_length, solved, final_score",
    "eval.json": "the evaluation above (textedit eval DIR --json prints it again)",
    "model.pt": "the trained network's weights",
    "qtable.json": "the Q-table",
    "training.json": "training counters (env steps, invalid actions)",
    "tensorboard": "TensorBoard logs",
}


def where_files_are(out: Path) -> str:
    """The files of a finished run directory, each with what it holds, and what the table's columns mean."""
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    width = max(map(len, files), default=0) + 2
    lines = [f"files in {out}/:"]
    lines += [f"  {name:{width}}{FILE_DESCRIPTIONS.get(name, '')}".rstrip() for name in files]
    lines += [
        "columns: solve_rate   share of episodes that end at the reference",
        "         return       summed reward = final minus initial score of the reward's metric",
        "         final        the reward's metric at the end (--json adds sacrebleu's BLEU, rouge-score's ROUGE-L)",
        "         stop_rate    share of episodes started at the reference in which it stops at once",
        "         excess       solved episodes' steps over the oracle's on the same episodes (1: none wasted)",
        "         detours      share of solved episodes with an edit later undone or redone",
        "         truncated    share of episodes cut by the time limit; steps: mean episode length",
        "         invalid      share of steps with an invalid action",
        "         perplexity   of the final texts under a trigram model of the training references",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ eval
def evaluate_agent(agent: Agent, episodes: int, seed: int, split: str | None, progress: bool = False) -> dict:
    """The agent beside the oracle and a random agent, on its default evaluation split unless one is
    given, with what only this agent reports (its notes on stderr)."""
    split = split or agent.eval_split()
    check_env_kwargs(agent.env_kwargs, split=split)
    for note in agent.evaluation_notes(split):
        print(note, file=sys.stderr)
    result = {
        **evaluate_with_baselines(agent.env_kwargs, agent, episodes, seed, split, progress),
        "trained_split": training_split(agent.env_kwargs),
    }
    extras, notes = agent.evaluation_extras()
    for note in notes:
        print(note, file=sys.stderr)
    return {**result, **extras}


def run_eval(args: argparse.Namespace) -> int:
    if (args.source is None) != (args.reference is None):
        raise UsageError("--source and --reference go together")
    agent = load_run(args.dir, args.device)
    if args.env_kwargs:
        env_kwargs = {**agent.env_kwargs, **args.env_kwargs}
        check_env_kwargs(env_kwargs)
        try:
            agent = agent.with_env_kwargs(env_kwargs)
        except ValueError as err:
            raise UsageError(f"--env-kwargs: {err}") from None
    if args.source is not None:
        try:
            result = agent.edit(args.source, args.reference)
        except ValueError as err:
            raise UsageError(str(err)) from None
        print(json.dumps(dataclasses.asdict(result)) if args.json else format_edits(result))
        return 0
    result = evaluate_agent(agent, args.episodes, args.seed, args.split, not args.no_progress)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def load_run(run_dir: Path, device: str | None) -> Agent:
    """The agent of a run directory for eval and play, or a UsageError; notes an interrupted run."""
    if not run_dir.is_dir():
        raise UsageError(f"no run directory {str(run_dir)!r}")
    try:
        import torch

        torch.set_num_threads(1)
    except ModuleNotFoundError as err:
        raise missing_dependency(err, "a trained agent") from None
    check_device(device)
    try:
        agent = load_agent(run_dir, device)
        stopped = read_manifest(run_dir).get("interrupted_at_step")
    except ValueError as err:
        raise UsageError(str(err)) from None
    if stopped is not None:
        print(
            f"note: this run was interrupted at step {stopped}: the model is the one trained until then "
            "(textedit train --resume continues it)",
            file=sys.stderr,
        )
    return agent


def format_edits(result: EditResult) -> str:
    """One line per edit, then the final text and the score before and after."""
    lines = [f"source: {result.source}"]
    for number, (op, position, word) in enumerate(result.edits, start=1):
        lines.append(f"{number:>4}. {op} {position}" + ("" if word is None else f" {word!r}"))
    ending = "stopped" if result.stopped else "cut by the step limit"
    count = len(result.edits)
    lines.append(f"text:   {result.text}   ({count} edit{'' if count == 1 else 's'}, {ending})")
    if result.score_before is not None:
        lines.append(f"score:  {result.score_before:.4f} -> {result.score_after:.4f}")
    return "\n".join(lines)


# ------------------------------------------------------------------ collect, play
def run_collect(args: argparse.Namespace) -> int:
    try:
        from textedit_env.collect import collect
    except ModuleNotFoundError as err:
        raise missing_dependency(err, "textedit collect") from None
    check_env_kwargs(args.env_kwargs)
    try:
        path = collect(args.policy, args.episodes, args.env_kwargs, args.dataset_id, args.seed)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(
        f"wrote {args.episodes} {args.policy} episodes to the Minari dataset {args.dataset_id!r} ({path})",
        file=sys.stderr,
    )
    return 0


def run_play(args: argparse.Namespace) -> int:
    from textedit_env.play import play

    if (args.source is None) != (args.reference is None):
        raise UsageError("--source and --reference go together")
    env_kwargs, agent = args.env_kwargs, None
    if args.agent is not None:
        agent = load_run(args.agent, None)
        env_kwargs = {**agent.env_kwargs, **env_kwargs}
        if args.env_kwargs:
            try:
                agent = agent.with_env_kwargs(env_kwargs)
            except ValueError as err:
                raise UsageError(f"--env-kwargs: {err}") from None
    check_env_kwargs(env_kwargs)
    try:
        return play(env_kwargs, args.seed, args.source, args.reference, agent=agent)
    except ValueError as err:
        raise UsageError(str(err)) from None


if __name__ == "__main__":
    sys.exit(main())
