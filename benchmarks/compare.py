"""Compare RL algorithms on the TextEdit task suite, reported the way the field reports results.

    python -m benchmarks.compare                                   # the full protocol (hours: see the README)
    python -m benchmarks.compare --tasks easy-bleu --algorithms dqn sb3-dqn-shared --seeds 5
    python -m benchmarks.compare --report                          # only rebuild the report from the results file
    python -m benchmarks.compare --quick --results /tmp/c.jsonl --out /tmp/c   # a small end-to-end check

Every algorithm trains on the ``train`` split of a suite task (:mod:`benchmarks.suite`) for the
same number of environment steps, and is evaluated greedily (deterministically) on the same
``test``-split episodes (reset seeds ``eval_seed + i``): at ``curve_points`` evenly spaced points
of training on ``curve_episodes`` episodes (learning curves), and at the end on ``episodes``.

Each finished run is appended at once to the results file (JSON lines; one line per run, and
one per sitting with its command and wall time); a rerun skips the runs the file already holds,
so a long benchmark survives interruption and can be spread over several sittings. The report
(``compare.md``, ``learning_curves.png``) is rebuilt from the results file alone: per task and
algorithm, the interquartile mean (IQM) over seeds of the solve rate and of the return as a
fraction of the oracle's, each with a 95% stratified-bootstrap confidence interval (rliable's
method), which algorithm leads and which ones its interval does not separate from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from agents.common import Checkpoints, Policy, evaluate, make_env
from benchmarks.stats import iqm, separated, stratified_bootstrap_ci
from benchmarks.suite import ALGORITHMS, BASELINES, SUITE, TRAIN_EPISODE_STEPS

RESULTS = Path(__file__).parent / "results"


@dataclass
class Args:
    tasks: list[str] = field(default_factory=lambda: list(SUITE))
    algorithms: list[str] = field(default_factory=lambda: list(ALGORITHMS))
    seeds: int = 5
    steps: int = 50_000
    """training environment steps of every run"""
    episodes: int = 200
    """test-split episodes of the final evaluation"""
    curve_points: int = 5
    """evaluations during training (at steps/5, 2*steps/5, ...)"""
    curve_episodes: int = 50
    eval_seed: int = 10_000
    workers: int = 2
    """runs in parallel, one process (and one torch thread) each"""
    bootstrap: int = 2_000
    """bootstrap resamples of the confidence intervals"""
    results: Path = RESULTS / "compare.jsonl"
    out: Path = RESULTS
    report: bool = False
    """only rebuild the report from the results file"""
    quick: bool = False
    """a small end-to-end check: tiny-bleu, 1 seed, 300 steps, 10 episodes"""


QUICK = {"tasks": ["tiny-bleu"], "seeds": 1, "steps": 300, "episodes": 10, "curve_points": 2, "curve_episodes": 5,
         "bootstrap": 200}


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Args()
    for f in fields(Args):
        default, flag = getattr(defaults, f.name), f"--{f.name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true")
        elif isinstance(default, list):
            parser.add_argument(flag, nargs="+", default=default, choices=list(SUITE if f.name == "tasks" else ALGORITHMS))
        else:
            parser.add_argument(flag, type=type(default), default=default)
    argv = list(argv if argv is not None else sys.argv[1:])
    args = Args(**vars(parser.parse_args(argv)))
    if args.quick:  # explicit flags still win over the quick settings
        given = {a.lstrip("-").split("=")[0].replace("-", "_") for a in argv if a.startswith("--")}
        for name, value in QUICK.items():
            if name not in given:
                setattr(args, name, value)
    return args


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSpec:
    task: str
    algorithm: str
    seed: int
    steps: int
    episodes: int
    eval_seed: int

    def key(self) -> tuple:
        return tuple(asdict(self).values())


def run(spec: RunSpec, curve_points: int, curve_episodes: int) -> dict:
    """Train one algorithm with one seed on one task's train split; evaluate it on the test split
    during training (the curve) and at the end."""
    torch.set_num_threads(1)
    test_env = make_env(SUITE[spec.task].env_kwargs, "test")
    curve, eval_seconds = [], 0.0

    def checkpoint(step: int, policy: Policy) -> None:
        nonlocal eval_seconds
        start = time.perf_counter()
        result = evaluate(test_env, policy, curve_episodes, spec.eval_seed)
        curve.append({"step": step, "solve_rate": result["solve_rate"], "mean_return": result["mean_return"]})
        eval_seconds += time.perf_counter() - start

    points = [round(spec.steps * (i + 1) / curve_points) for i in range(curve_points)]
    start = time.perf_counter()
    trained = ALGORITHMS[spec.algorithm].trainer({**SUITE[spec.task].env_kwargs, "split": "train"}, spec.steps, spec.seed,
                                                 Checkpoints(points, checkpoint))
    train_seconds = time.perf_counter() - start - eval_seconds
    start = time.perf_counter()
    result = evaluate(test_env, trained.policy, spec.episodes, spec.eval_seed)
    final_seconds = time.perf_counter() - start
    learner = trained.env_steps > 0
    return {
        "kind": "run", **asdict(spec), **result,
        "train_steps": trained.env_steps,
        "train_seconds": train_seconds,
        "wall_seconds": train_seconds + eval_seconds + final_seconds,
        # Training throughput; baselines, which do not train, report their evaluation's.
        "steps_per_second": trained.env_steps / train_seconds if learner else result["mean_steps"] * spec.episodes / final_seconds,
        "curve": curve if learner else None,
        "config": trained.config,
        "machine": machine(),
        "versions": versions(),
    }


def run_specs(args: Args) -> list[RunSpec]:
    algorithms = dict.fromkeys(["oracle", *args.algorithms])  # the oracle is the scale of every return
    return [RunSpec(task, algorithm, seed, args.steps, args.episodes, args.eval_seed)
            for task in args.tasks for algorithm in algorithms
            if ALGORITHMS[algorithm].tasks is None or task in ALGORITHMS[algorithm].tasks
            for seed in range(args.seeds)]


def read_results(path: Path) -> list[dict]:
    """The records of a results file; a line cut short by a crash mid-write is skipped with a warning."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"{path}:{number}: skipping a line that is not JSON (an interrupted write?)", file=sys.stderr)
    return records


def append(path: Path, record: dict) -> None:
    """One JSON line, flushed and synced: a finished run survives whatever happens next."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run_pending(args: Args, command: str) -> None:
    done = {RunSpec(*(r[f.name] for f in fields(RunSpec))).key() for r in read_results(args.results) if r["kind"] == "run"}
    pending = [spec for spec in run_specs(args) if spec.key() not in done]
    print(f"{len(pending)} run(s) to do, {len(run_specs(args)) - len(pending)} already in {args.results}", flush=True)
    if not pending:
        return
    start, finished = time.perf_counter(), 0
    # SIGTERM ends a sitting like Ctrl-C: the runs finished so far stay, and the sitting is recorded.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for spec, record in run_all(pending, args):
            append(args.results, record)
            finished += 1
            print(f"{spec.task:18} {spec.algorithm:24} seed {spec.seed}: solve {record['solve_rate']:.3f}  "
                  f"return {record['mean_return']:+.3f}  {record['wall_seconds']:.0f} s", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {finished} of {len(pending)} run(s); a rerun of the same command does the rest",
              file=sys.stderr)
    finally:
        append(args.results, {"kind": "sitting", "command": command, "runs": finished, "pending": len(pending) - finished,
                              "workers": args.workers, "wall_seconds": time.perf_counter() - start, "machine": machine()})
        signal.signal(signal.SIGTERM, previous)


def run_all(specs: list[RunSpec], args: Args) -> Iterator[tuple[RunSpec, dict]]:
    """Runs in the order they finish; in ``workers`` processes when more than one."""
    if args.workers == 1:
        for spec in specs:
            yield spec, run(spec, args.curve_points, args.curve_episodes)
        return
    # forkserver: workers must not inherit torch's thread pools or open envs from this process.
    # Leaving the pool, even by Ctrl-C, terminates its workers: the runs in progress are left to a rerun.
    with get_context("forkserver").Pool(args.workers) as pool:
        yield from pool.imap_unordered(partial(run_with_spec, curve_points=args.curve_points,
                                               curve_episodes=args.curve_episodes), specs)


def run_with_spec(spec: RunSpec, curve_points: int, curve_episodes: int) -> tuple[RunSpec, dict]:
    return spec, run(spec, curve_points, curve_episodes)


def machine() -> str:
    return f"{platform.machine()} {platform.system()}, {len(os.sched_getaffinity(0))} cores"


def versions() -> str:
    packages = ("textedit-env", "gymnasium", "stable-baselines3", "sb3-contrib", "torch", "numpy")
    return ", ".join(f"{p} {version(p)}" for p in packages) + f", Python {platform.python_version()}"


# ----------------------------------------------------------------------------- report
def interval(value: tuple[float, float, float]) -> str:
    return f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"


def report(records: list[dict], resamples: int) -> str:
    runs = [r for r in records if r["kind"] == "run"]
    sittings = [r for r in records if r["kind"] == "sitting"]
    tasks = [t for t in SUITE if any(r["task"] == t for r in runs)]
    algorithms = [a for a in ALGORITHMS if any(r["algorithm"] == a for r in runs)]
    by = {}
    for r in runs:
        by.setdefault((r["task"], r["algorithm"]), []).append(r)
    oracle = {t: np.mean([r["mean_return"] for r in by[(t, "oracle")]]) for t in tasks if (t, "oracle") in by}

    def fraction(r: dict) -> float:
        return r["mean_return"] / oracle[r["task"]]

    budgets = sorted({r["steps"] for r in runs})
    seeds = sorted({len(v) for (t, a), v in by.items() if a not in BASELINES})
    lines = [
        "# Algorithm comparison on the TextEdit task suite", "",
        f"Built by `python -m benchmarks.compare --report` from the {len(runs)} runs in the results file: "
        f"{sum(r['wall_seconds'] for r in runs) / 3600:.1f} h of run time in all (each run one process and one torch thread; "
        f"{', '.join(sorted({r['machine'] for r in runs}))}), made in {len(sittings)} recorded sitting(s) of "
        f"{sum(s['wall_seconds'] for s in sittings) / 3600:.1f} h of wall time with "
        f"{' / '.join(sorted({str(s['workers']) for s in sittings})) or '?'} runs at a time. Commands: "
        + "; ".join(f"`{c}`" for c in dict.fromkeys(s["command"] for s in sittings))
        + f". Versions: {'; '.join(sorted({r['versions'] for r in runs}))}.", "",
        f"Every learner trains on the `train` split for {' / '.join(f'{b:,}' for b in budgets)} environment steps "
        f"({' / '.join(map(str, seeds))} seeds per task), training episodes cut at {TRAIN_EPISODE_STEPS} steps, and is "
        "evaluated greedily on the same `test`-split episodes (sentences never seen in training; at most 50 steps): "
        "during training for the learning curves, and at the end. IQM: interquartile mean over seeds with a 95% "
        f"stratified-bootstrap confidence interval ({resamples} resamples; rliable's method). Return / oracle: mean test "
        "return over the oracle's on the same episodes. Solved steps: mean length of the solved episodes over the "
        "oracle's. Cut: share of episodes that ran to the time limit. Steps/s: training environment steps per "
        "second of training time (baselines: of evaluation).", "",
        "## Tasks", "",
        "| task | env kwargs | description | oracle steps | oracle return |", "|---|---|---|---|---|",
    ]
    for t in tasks:
        o = by.get((t, "oracle"), [{}])[0]
        lines.append(f"| {t} | `{SUITE[t].env_kwargs}` | {SUITE[t].description} | {o.get('mean_steps', float('nan')):.2f} | "
                     f"{o.get('mean_return', float('nan')):.3f} |")
    lines += ["", "## Algorithms", ""] + [f"- **{a}**: {ALGORITHMS[a].note}" for a in algorithms]
    lines += ["", "## Which algorithm leads", "",
              "Per task, the learner with the highest solve-rate IQM, and the learners whose confidence interval "
              "overlaps the leader's (not separated from it at this budget and number of seeds).", "",
              "| task | leader | solve rate IQM [95% CI] | not separated from the leader |", "|---|---|---|---|"]
    cis = {}
    for t in tasks:
        for a in algorithms:
            if (t, a) in by:
                cis[(t, a)] = {m: stratified_bootstrap_ci([[f(r) for r in by[(t, a)]]], resamples=resamples)
                               for m, f in (("solve", lambda r: r["solve_rate"]), ("fraction", fraction))}
        learners = {a: cis[(t, a)]["solve"] for a in algorithms if (t, a) in cis and a not in BASELINES}
        if learners:
            leader, tied = separated(learners)
            others = ", ".join(tied) if tied else "none: it leads alone" if len(learners) > 1 else "the only learner run here so far"
            lines.append(f"| {t} | {leader} | {interval(learners[leader])} | {others} |")
    lines += ["", "## Results per task", "",
              "Early: mean test solve rate at the first evaluation during training (the first point of the learning "
              "curves), which separates learners that all end at the top.", "",
              "| task | algorithm | seeds | solve rate IQM [95% CI] | early | return / oracle IQM [95% CI] | solved steps | cut | "
              "train s | steps/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for t in tasks:
        for a in algorithms:
            if (t, a) not in by:
                continue
            group, oracle_steps = by[(t, a)], by[(t, "oracle")][0]["mean_steps"] if (t, "oracle") in by else float("nan")
            solved = [r["mean_solved_steps"] for r in group if r["solve_rate"] > 0]
            early = [r["curve"][0] for r in group if r["curve"]]
            early_text = f"{np.mean([p['solve_rate'] for p in early]):.3f} at {early[0]['step']:,}" if early else "-"
            lines.append(f"| {t} | {a} | {len(group)} | {interval(cis[(t, a)]['solve'])} | {early_text} | "
                         f"{interval(cis[(t, a)]['fraction'])} | "
                         f"{f'{np.mean(solved) / oracle_steps:.2f}' if solved else '-'} | "
                         f"{np.mean([r['truncated_rate'] for r in group]):.3f} | {np.mean([r['train_seconds'] for r in group]):.0f} | "
                         f"{np.mean([r['steps_per_second'] for r in group]):.0f} |")
    lines += ["", "## Aggregate over tasks", "",
              "IQM over all runs of an algorithm, the bootstrap stratified by task.", "",
              "| algorithm | runs | tasks | solve rate IQM [95% CI] | return / oracle IQM [95% CI] |", "|---|---|---|---|---|"]
    for a in algorithms:
        strata = [by[(t, a)] for t in tasks if (t, a) in by]
        solve = stratified_bootstrap_ci([[r["solve_rate"] for r in s] for s in strata], resamples=resamples)
        frac = stratified_bootstrap_ci([[fraction(r) for r in s] for s in strata], resamples=resamples)
        lines.append(f"| {a} | {sum(map(len, strata))} | {len(strata)} | {interval(solve)} | {interval(frac)} |")
    if any(r["curve"] for r in runs):
        lines += ["", "## Learning curves", "",
                  "![learning curves](learning_curves.png): test solve rate during training, mean over seeds, band min to "
                  "max; dashed: SB3's `MultiInputPolicy`."]
    return "\n".join(lines) + "\n"


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in records if r["kind"] == "run" and r["curve"]]
    tasks = [t for t in SUITE if any(r["task"] == t for r in runs)]
    learners = [a for a in ALGORITHMS if any(r["algorithm"] == a for r in runs)]
    if not runs:  # baselines only: nothing learns, no curves
        return
    # An SB3 algorithm and its -shared variant share a colour (dashed: SB3's MultiInputPolicy).
    families = list(dict.fromkeys(a.removesuffix("-shared") for a in learners))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks) + 2.6, 4), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        for a in learners:
            curves = [r["curve"] for r in runs if r["task"] == task and r["algorithm"] == a]
            if not curves:
                continue
            steps = [p["step"] for p in curves[0]]
            values = np.array([[p["solve_rate"] for p in c] for c in curves if len(c) == len(steps)])
            colour = f"C{families.index(a.removesuffix('-shared')) % 10}"
            style = "--" if a.startswith("sb3-") and not a.endswith("-shared") else "-"
            ax.plot(steps, values.mean(0), style, color=colour, label=a)
            ax.fill_between(steps, values.min(0), values.max(0), color=colour, alpha=0.15)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
    axes[0, 0].set_ylabel("test solve rate")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    fig.legend(handles.values(), handles.keys(), loc="center right", fontsize="small")
    fig.tight_layout(rect=(0, 0, 1 - 2.6 / fig.get_figwidth(), 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Path:
    args = parse_args(argv)
    torch.set_num_threads(1)
    command = "python -m benchmarks.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    if not args.report:
        run_pending(args, command.strip())
    records = read_results(args.results)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(records, args.out / "learning_curves.png")
    md = args.out / "compare.md"
    md.write_text(report(records, args.bootstrap))
    print(f"wrote {md}")
    return md


if __name__ == "__main__":
    main()
