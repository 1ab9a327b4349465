"""``kill -9`` at random moments of a training run, then ``--resume``, again and again: does the run
always resume, lose at most one checkpoint interval, and end with the uninterrupted run's model?

    python -m benchmarks.kill_resume                 # 30 kills; writes benchmarks/results/kill_resume.md
    python -m benchmarks.kill_resume --kills 5 --out /tmp/kills

The run: ``textedit train`` (DQN, a small network on the tiny preset) with a short checkpoint
interval, so that kills land before, between and during saves. After each kill the next process
resumes from the saved state (or, killed before its first save, starts over with ``--overwrite``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.records import machine, versions
from textedit_agents.runs import STATE

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parents[1]
ENV_KWARGS = {"preset": "tiny", "num_tasks": 4, "split": "all"}
NUM_ENVS = 2
TRAIN = ["--algo", "dqn", "--dim", "8", "--num-envs", str(NUM_ENVS), "--batch-size", "8", "--learning-starts", "40"]


def command(out: Path, steps: int, interval: int, resume: bool = False, overwrite: bool = False) -> list[str]:
    """The run's command line; resuming, it takes only what may change (the saved run keeps its arguments)."""
    options = ["--algo", "dqn", "--resume"] if resume else [*TRAIN, "--env-kwargs", json.dumps(ENV_KWARGS)]
    options += ["--overwrite"] if overwrite else []
    return [
        sys.executable, "-m", "textedit_agents.cli", "train", *options, "--steps", str(steps), "--checkpoint-every",
        str(interval), "--out", str(out), "--no-progress", "--eval-episodes", "0",
    ]  # fmt: skip


def wait_for_training(process: subprocess.Popen, out: Path, since: int, timeout: float = 120) -> None:
    """Until the run logs an episode past step ``since`` (it has imported, rebuilt its state and trains)."""
    deadline = time.time() + timeout
    while logged_step(out) <= since and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)


def saved_step(out: Path) -> int | None:
    path = out / STATE
    return torch.load(path, weights_only=True)["state"]["step"] if path.exists() else None


def logged_step(out: Path) -> int:
    rows = (out / "episodes.csv").read_text().splitlines()[1:] if (out / "episodes.csv").exists() else []
    return int(rows[-1].split(",")[0]) if rows else 0


def kill_resume(work: Path, kills: int, steps: int = 3_000, interval: int = 50, seed: int = 0) -> dict:
    """Kill a run ``kills`` times at random moments, resuming it each time, then let it finish; compare
    with the same run uninterrupted. Returns what happened."""
    rng = np.random.default_rng(seed)
    straight, cut = work / "straight", work / "cut"
    subprocess.run(command(straight, steps, interval), check=True, cwd=ROOT, capture_output=True)
    events, resumed = [], False
    for _ in range(kills):
        since = saved_step(cut) or 0
        process = subprocess.Popen(
            command(cut, steps, interval, resume=resumed, overwrite=not resumed and cut.exists()),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_training(process, cut, since)
        time.sleep(float(rng.uniform(0.0, 1.5)))  # then a random moment: while it trains, logs or saves
        if process.poll() is not None:  # it finished (or failed) before the kill
            raise RuntimeError(f"the run ended before a kill: {process.stderr.read()[-500:]}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        reached, saved = logged_step(cut), saved_step(cut)
        events.append({"reached": reached, "saved": saved, "resumed": resumed})
        resumed = saved is not None
    finish = subprocess.run(
        command(cut, steps, interval, resume=resumed, overwrite=not resumed),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    a = torch.load(straight / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(cut / "model.pt", weights_only=True)["state_dict"] if finish.returncode == 0 else {}
    return {
        "kills": kills,
        "steps": steps,
        "interval": interval,
        "events": events,
        "finished": finish.returncode == 0,
        "finish_error": finish.stderr[-500:] if finish.returncode else "",
        # a save comes at the first step (a multiple of NUM_ENVS) at or past each interval
        "lost_at_most_one_interval": all(
            e["saved"] is None or e["reached"] - e["saved"] <= interval + NUM_ENVS for e in events
        ),
        "same_model": bool(b) and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a),
    }


def report(data: dict) -> str:
    events = data["events"]
    saved = [e for e in events if e["saved"] is not None]
    lost = [e["reached"] - e["saved"] for e in saved]
    return "\n".join(
        [
            "# kill -9 and resume",
            "",
            f"Produced by `python -m benchmarks.kill_resume --kills {data['kills']}` on {data['machine']}; "
            f"{data['versions']}.",
            "",
            f"`textedit train` (DQN, a small network, preset tiny, {data['steps']:,} steps, `--checkpoint-every "
            f"{data['interval']}`) killed with SIGKILL {data['kills']} times, each at a random moment 0-1.5 s after "
            "the process has resumed training (a save every few hundred milliseconds: kills land between and during "
            "saves); each next process resumes from the saved state. Then the run finishes, and its model is "
            "compared with the same run's uninterrupted.",
            "",
            f"- kills: {len(events)}; killed after a saved state existed: {len(saved)}",
            f"- every resume worked and the run finished: {data['finished']}",
            f"- steps lost per kill (last logged step minus the saved state's): at most {max(lost, default=0)} "
            f"(the interval: {data['interval']}); within one interval every time: {data['lost_at_most_one_interval']}",
            f"- the final model equals the uninterrupted run's, tensor for tensor: {data['same_model']}",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        data = kill_resume(Path(work), options.kills)
    data.update(machine=machine(), versions=versions())
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "kill_resume.json").write_text(json.dumps(data, indent=1) + "\n")
    (options.out / "kill_resume.md").write_text(report(data))
    print(report(data))
    return data


if __name__ == "__main__":
    main()
