"""Compare RL algorithms on the TextEdit task suite, reported the way the field reports results.

    python -m benchmarks.compare                                   # the full protocol (hours: see the README)
    python -m benchmarks.compare --tasks easy-bleu --algorithms dqn sb3-dqn-shared --seeds 5
    python -m benchmarks.compare --report                          # only rebuild the report from the results file
    python -m benchmarks.compare --quick --results /tmp/c.jsonl --out /tmp/c   # a small end-to-end check
    python -m benchmarks.compare --tasks easy-bleu --ray-address HEAD_IP:6379   # each run a task on a Ray cluster

Every algorithm trains on the ``train`` split of a suite task (:mod:`benchmarks.suite`) for the
same number of environment steps, and is evaluated greedily (deterministically) on the same
``test``-split episodes (reset seeds ``eval_seed + i``): at ``curve_points`` evenly spaced points
of training on ``curve_episodes`` episodes (learning curves), and at the end on ``episodes``.

Each finished run is appended at once to the results file (JSON lines; one line per run, and
one per sitting with its command and wall time); a rerun skips the runs the file already holds,
so a long benchmark survives interruption and can be spread over several sittings. Runs go through
a local process pool, or with ``--ray-address`` through a Ray cluster (one task per run, retried
when its worker is lost); either way only this process writes the results file. The report
(``compare.md``, ``learning_curves.png``, ``performance_profiles.png``) is rebuilt from the results file
alone: per task and algorithm, the interquartile mean (IQM) over seeds of the solve rate and of the return
as a fraction of the oracle's, each with a 95% stratified-bootstrap confidence interval (rliable's
method), which algorithm leads and which ones its interval does not separate from it, and the area under
the learning curve; over tasks, rliable's IQM, optimality gap, probability of improvement and
performance profiles.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import torch

from benchmarks.records import append, machine, read_results, versions
from benchmarks.report import plot, plot_profiles, report
from benchmarks.suite import ALGORITHMS, SUITE
from textedit_agents.env_util import make_env
from textedit_agents.evaluation import evaluate
from textedit_agents.training import Checkpoints
from textedit_env.policies import Policy

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parents[1]
RAY_MEMORY = 2 * 2**30
"""bytes a run reserves on Ray: about 0.4 GB of libraries and data, and up to about 1 GB of replay buffer (SB3's
50,000 transitions of fix-ua)"""
RAY_RETRIES = 3
"""times Ray reruns a run whose worker or node is lost"""


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
    ray_address: str = ""
    """run on the Ray cluster at this address ("local": start one here) instead of in ``workers`` processes"""
    bootstrap: int = 2_000
    """bootstrap resamples of the confidence intervals"""
    results: Path = RESULTS / "compare.jsonl"
    out: Path = RESULTS
    report: bool = False
    """only rebuild the report from the results file"""
    quick: bool = False
    """a small end-to-end check: tiny-bleu and fix-easy, 1 seed, 300 steps, 10 episodes"""


QUICK = {
    "tasks": ["tiny-bleu", "fix-easy"],
    "seeds": 1,
    "steps": 300,
    "episodes": 10,
    "curve_points": 2,
    "curve_episodes": 5,
    "bootstrap": 200,
}


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Args()
    for f in fields(Args):
        default, flag = getattr(defaults, f.name), f"--{f.name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true")
        elif isinstance(default, list):
            parser.add_argument(
                flag, nargs="+", default=default, choices=list(SUITE if f.name == "tasks" else ALGORITHMS)
            )
        else:
            parser.add_argument(flag, type=type(default), default=default)
    argv = list(argv if argv is not None else sys.argv[1:])
    args = Args(**vars(parser.parse_args(argv)))
    if args.ray_address and importlib.util.find_spec("ray") is None:
        sys.exit("error: --ray-address needs Ray, which is not installed here: pip install 'ray>=2.60'")
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
    trained = ALGORITHMS[spec.algorithm].trainer(
        {**SUITE[spec.task].env_kwargs, "split": "train"}, spec.steps, spec.seed, Checkpoints(points, checkpoint)
    )
    train_seconds = time.perf_counter() - start - eval_seconds
    start = time.perf_counter()
    result = evaluate(test_env, trained.policy, spec.episodes, spec.eval_seed)
    final_seconds = time.perf_counter() - start
    learner = trained.env_steps > 0
    return {
        "kind": "run",
        **asdict(spec),
        **result,
        "train_steps": trained.env_steps,
        "train_seconds": train_seconds,
        "wall_seconds": train_seconds + eval_seconds + final_seconds,
        # Training throughput; baselines, which do not train, report their evaluation's.
        "steps_per_second": trained.env_steps / train_seconds
        if learner
        else result["mean_steps"] * spec.episodes / final_seconds,
        "curve": curve if learner else None,
        "config": trained.config,
        "machine": machine(),
        "versions": versions(),
    }


def run_specs(args: Args) -> list[RunSpec]:
    algorithms = dict.fromkeys(["oracle", *args.algorithms])  # the oracle is the scale of every return
    return [
        RunSpec(task, algorithm, seed, args.steps, args.episodes, args.eval_seed)
        for task in args.tasks
        for algorithm in algorithms
        if ALGORITHMS[algorithm].tasks is None or task in ALGORITHMS[algorithm].tasks
        for seed in range(args.seeds)
    ]


def run_pending(args: Args, command: str) -> None:
    done = {
        RunSpec(*(r[f.name] for f in fields(RunSpec))).key() for r in read_results(args.results) if r["kind"] == "run"
    }
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
            print(
                f"{spec.task:18} {spec.algorithm:24} seed {spec.seed}: solve {record['solve_rate']:.3f}  "
                f"return {record['mean_return']:+.3f}  {record['wall_seconds']:.0f} s",
                flush=True,
            )
    except KeyboardInterrupt:
        print(
            f"interrupted after {finished} of {len(pending)} run(s); a rerun of the same command does the rest",
            file=sys.stderr,
        )
    finally:
        append(
            args.results,
            {
                "kind": "sitting",
                "command": command,
                "runs": finished,
                "pending": len(pending) - finished,
                "workers": args.workers,
                "wall_seconds": time.perf_counter() - start,
                "machine": machine(),
            },
        )
        signal.signal(signal.SIGTERM, previous)


def run_all(specs: list[RunSpec], args: Args) -> Iterator[tuple[RunSpec, dict]]:
    """Runs in the order they finish; on a Ray cluster, or in ``workers`` processes when more than one."""
    if args.ray_address:
        yield from run_on_ray(specs, args)
        return
    if args.workers == 1:
        for spec in specs:
            yield spec, run(spec, args.curve_points, args.curve_episodes)
        return
    # forkserver: workers must not inherit torch's thread pools or open envs from this process.
    # Leaving the pool, even by Ctrl-C, terminates its workers: the runs in progress are left to a rerun.
    with get_context("forkserver").Pool(args.workers) as pool:
        yield from pool.imap_unordered(
            partial(run_with_spec, curve_points=args.curve_points, curve_episodes=args.curve_episodes), specs
        )


def run_on_ray(specs: list[RunSpec], args: Args) -> Iterator[tuple[RunSpec, dict]]:
    """Each run a Ray task of 1 CPU on the cluster at ``args.ray_address``, in the order they finish."""
    import ray  # only here: the package does not need Ray otherwise

    sigterm = signal.getsignal(signal.SIGTERM)
    # The driver's checkout is the code every worker runs (files that git ignores stay behind): nodes need
    # only the packages installed.
    # A Ray started here for the command needs no dashboard: its processes would take CPU from the runs.
    local = {"include_dashboard": False} if args.ray_address == "local" else {}
    ray.init(address=args.ray_address, runtime_env={"working_dir": str(ROOT)}, **local)
    signal.signal(signal.SIGTERM, sigterm)  # ray.init takes SIGTERM over; it still ends the sitting like Ctrl-C
    try:
        args.workers = int(ray.cluster_resources().get("CPU", 0))  # the sitting's runs at a time: one per CPU
        remote = ray.remote(run_with_spec).options(num_cpus=1, memory=RAY_MEMORY, max_retries=RAY_RETRIES)
        pending = [remote.remote(spec, args.curve_points, args.curve_episodes) for spec in specs]
        while pending:
            done, pending = ray.wait(pending)
            yield ray.get(done[0])
    finally:  # leaving, even by Ctrl-C, ends the job and its tasks: the runs in progress are left to a rerun
        ray.shutdown()


def run_with_spec(spec: RunSpec, curve_points: int, curve_episodes: int) -> tuple[RunSpec, dict]:
    return spec, run(spec, curve_points, curve_episodes)


def main(argv: Sequence[str] | None = None) -> Path:
    args = parse_args(argv)
    torch.set_num_threads(1)
    command = "python -m benchmarks.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    if not args.report:
        run_pending(args, command.strip())
    records = read_results(args.results)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(records, args.out / "learning_curves.png")
    plot_profiles(records, args.out / "performance_profiles.png", args.bootstrap)
    md = args.out / "compare.md"
    md.write_text(report(records, args.bootstrap))
    print(f"wrote {md}")
    return md


if __name__ == "__main__":
    main()
