"""The comparison on Ray (``python -m benchmarks.compare --ray-address``): a tiny grid on a two-node Ray cluster
started here gives the records of the local process pool, and a rerun records nothing. Needs Ray (``.ci/rllib``
installs it in its own environment); skipped where Ray is not installed."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="needs Ray: .ci/rllib installs it in .venv-rllib")

from benchmarks.records import read_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--quick", "--tasks", "tiny-bleu", "fix-easy", "--algorithms", "random", "dqn", "--seeds", "2"]
"""2 tasks x 2 algorithms (and the oracle, the scale of every return) x 2 seeds, 300 steps"""
NOT_REPRODUCIBLE = ("train_seconds", "wall_seconds", "steps_per_second", "machine")
"""a run's timings and where it ran"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(name: str, env: dict[str, str], temp_dir: str, *options: str) -> subprocess.Popen:
    """A Ray node of 1 CPU, running until terminated: --block ties the node's processes to this one, so the
    teardown stops these nodes alone (``ray stop`` would stop every Ray node on the machine)."""
    ray, log = Path(sys.executable).with_name("ray"), Path(temp_dir) / f"{name}.log"
    with open(log, "w") as out:
        command = [ray, "start", "--block", "--num-cpus=1", f"--temp-dir={temp_dir}", *options]
        node = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text():  # printed once the node has joined the cluster
        if node.poll() is not None or time.monotonic() > deadline:
            node.kill()
            raise RuntimeError(f"the {name} node did not start:\n{log.read_text()}")
        time.sleep(0.5)
    return node


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """The address of a local two-node Ray cluster (1 CPU per node) and the environment that reaches it: a
    token of its own, whatever ``~/.ray/auth_token`` holds."""
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    nodes = []
    # A short temporary directory: Ray's socket paths inside it must stay under 108 characters.
    with tempfile.TemporaryDirectory(prefix="ray") as temp_dir:
        try:
            head = ("--head", f"--port={address.split(':')[1]}", "--include-dashboard=false")
            nodes.append(start_node("head", env, temp_dir, *head))
            nodes.append(start_node("worker", env, temp_dir, f"--address={address}"))
            yield address, env
        finally:
            for node in reversed(nodes):
                node.terminate()
                node.wait(timeout=60)


def compare(*args: str, env: dict[str, str] | None = None) -> str:
    """``python -m benchmarks.compare`` with these arguments, as a user runs it; its output."""
    command = [sys.executable, "-m", "benchmarks.compare", *GRID, *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def runs(results: Path) -> list[dict]:
    """The run records of a results file, without what differs from machine to machine, in grid order."""
    records = [r for r in read_results(results) if r["kind"] == "run"]
    reproducible = [{k: v for k, v in r.items() if k not in NOT_REPRODUCIBLE} for r in records]
    return sorted(reproducible, key=lambda r: (r["task"], r["algorithm"], r["seed"]))


@pytest.mark.slow
def test_a_grid_on_ray_gives_the_records_of_the_local_pool_and_a_rerun_records_nothing(cluster, tmp_path):
    address, env = cluster
    pool, on_ray = tmp_path / "pool.jsonl", tmp_path / "ray.jsonl"
    compare("--workers", "2", "--results", str(pool), "--out", str(tmp_path / "pool"))
    compare("--ray-address", address, "--results", str(on_ray), "--out", str(tmp_path / "ray"), env=env)
    assert len(runs(on_ray)) == 2 * 3 * 2
    assert runs(on_ray) == runs(pool)
    sitting = [r for r in read_results(on_ray) if r["kind"] == "sitting"]
    assert [(s["runs"], s["workers"]) for s in sitting] == [(12, 2)]  # one run at a time on each node

    records = on_ray.read_text()
    rerun = compare("--ray-address", address, "--results", str(on_ray), "--out", str(tmp_path / "ray"), env=env)
    assert "0 run(s) to do, 12 already" in rerun
    assert on_ray.read_text() == records
