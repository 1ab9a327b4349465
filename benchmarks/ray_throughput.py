"""Runs per hour of the comparison on a local Ray cluster against the local process pool, side by side.

    python -m benchmarks.ray_throughput   # needs Ray (as in .ci/rllib); writes results/ray_throughput.md

The same grid (DQN on two tasks, 4 seeds each, 20,000 steps a run: runs long enough that
the per-task costs of Ray show at their true share) is run twice from scratch, in the same process
and on the same CPUs: by ``python -m benchmarks.compare --workers N`` and by ``--ray-address
local`` (a Ray instance started here with N CPUs, one run per CPU). Throughput is the grid's
runs over the sitting's wall time (start to last record, as the sitting records it). Issue 25's
target: Ray within 10% of the pool. The two sittings also give the same records (timings aside).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks import compare
from benchmarks.records import machine, read_results, versions

RESULTS = Path(__file__).parent / "results"
GRID = ["--tasks", "tiny-bleu", "easy-bleu", "--algorithms", "dqn", "--seeds", "4", "--steps", "20000"]
EVALUATION = ["--episodes", "100", "--curve-points", "1", "--curve-episodes", "10", "--bootstrap", "200"]
NOT_REPRODUCIBLE = ("train_seconds", "wall_seconds", "steps_per_second", "machine")


def sitting(backend: list[str], out: Path) -> tuple[dict, list[dict]]:
    """The sitting record and the run records of the grid run from scratch with ``backend``'s flags."""
    results = out / "results.jsonl"
    compare.main([*GRID, *EVALUATION, *backend, "--results", str(results), "--out", str(out)])
    records = read_results(results)
    (record,) = [r for r in records if r["kind"] == "sitting"]
    runs = [{k: v for k, v in r.items() if k not in NOT_REPRODUCIBLE} for r in records if r["kind"] == "run"]
    return record, sorted(runs, key=lambda r: (r["task"], r["algorithm"], r["seed"]))


def main() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows, runs = [], []
    for name, backend in (
        ("local pool", ["--workers", str(args.workers)]),
        ("Ray, local cluster", ["--ray-address", "local", "--workers", str(args.workers)]),
    ):
        with tempfile.TemporaryDirectory() as out:
            record, records = sitting(backend, Path(out))
        runs.append(records)
        rows.append((name, record["runs"], record["workers"], record["wall_seconds"]))
    pool_rate, ray_rate = (n / wall * 3600 for _, n, _, wall in rows)
    lines = [
        "# The comparison on Ray against the local pool",
        "",
        f"Produced by `python -m benchmarks.ray_throughput` (see its docstring) on {machine()}; {versions()}.",
        f"Grid: `{' '.join(GRID)}` (with the oracle), evaluation `{' '.join(EVALUATION)}`.",
        "",
        "| backend | runs | runs at a time | wall s | runs per hour |",
        "|---|---|---|---|---|",
        *(f"| {name} | {n} | {w} | {wall:.1f} | {n / wall * 3600:.0f} |" for name, n, w, wall in rows),
        "",
        f"Ray / pool: {ray_rate / pool_rate:.3f} of the pool's runs per hour (target: at least 0.9). "
        f"Same records from both (timings aside): {'yes' if runs[0] == runs[1] else 'NO'}.",
        "",
    ]
    path = args.out / "ray_throughput.md"
    path.write_text("\n".join(lines))
    print(path.read_text())
    return path


if __name__ == "__main__":
    main()
