"""Durable runs: one run per directory, atomic saves, interruption and resume."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from textedit_agents import dqn, qlearning
from textedit_agents.runs import STATE, Durability, RunDirectoryError, RunInterrupted, RunLock, claim
from textedit_agents.storage import atomic_write
from textedit_agents.training import Checkpoints

ROOT = Path(__file__).parents[1]

TINY = {"preset": "tiny", "num_tasks": 4, "split": "all"}
SMALL = {"dim": 8, "num_envs": 2, "batch_size": 8, "learning_starts": 40, "buffer_size": 500}


def interrupt_at(step: int, durability: Durability) -> Checkpoints:
    """Asks the run to stop at ``step``, as SIGINT would."""
    return Checkpoints([step], lambda reached, policy: setattr(durability, "stop_requested", True))


def test_an_interrupted_dqn_run_resumes_to_the_same_model(tmp_path):
    args = dqn.Args(steps=400, seed=3, **SMALL)
    straight = dqn.train(args, TINY, tmp_path / "straight", progress=False)

    durability = Durability(tmp_path / "cut", "dqn", interval=10_000)
    with pytest.raises(RunInterrupted) as stop:
        dqn.train(
            dqn.Args(steps=400, seed=3, **SMALL),
            TINY,
            tmp_path / "cut",
            progress=False,
            checkpoints=interrupt_at(150, durability),
            durability=durability,
        )
    assert 150 <= stop.value.step < 200 and (tmp_path / "cut" / STATE).exists()
    resumed = dqn.train(
        dqn.Args(steps=400),
        TINY,
        tmp_path / "cut",
        progress=False,
        durability=Durability(tmp_path / "cut", "dqn", resume=True),
    )
    for name, value in straight.network.state_dict().items():
        assert torch.equal(value, resumed.network.state_dict()[name]), name
    assert not (tmp_path / "cut" / STATE).exists()  # finished: only the final model remains
    rows = (tmp_path / "cut" / "episodes.csv").read_text()
    assert rows == (tmp_path / "straight" / "episodes.csv").read_text()  # the log neither loses nor repeats rows


def test_an_interrupted_qlearning_run_resumes_to_the_same_table(tmp_path):
    straight = qlearning.train(qlearning.Args(steps=600, seed=1), TINY, tmp_path / "a", progress=False)
    durability = Durability(tmp_path / "b", "qlearning", interval=100)
    with pytest.raises(RunInterrupted):
        qlearning.train(
            qlearning.Args(steps=600, seed=1),
            TINY,
            tmp_path / "b",
            progress=False,
            checkpoints=interrupt_at(250, durability),
            durability=durability,
        )
    resumed = qlearning.train(
        qlearning.Args(steps=600),
        TINY,
        tmp_path / "b",
        progress=False,
        durability=Durability(tmp_path / "b", "qlearning", resume=True),
    )
    assert resumed.table.q == straight.table.q


def test_resume_takes_steps_as_the_new_total(tmp_path):
    durability = Durability(tmp_path, "qlearning", interval=100)
    with pytest.raises(RunInterrupted):
        qlearning.train(
            qlearning.Args(steps=300),
            TINY,
            tmp_path,
            progress=False,
            checkpoints=interrupt_at(120, durability),
            durability=durability,
        )
    qlearning.train(
        qlearning.Args(steps=500),
        TINY,
        tmp_path,
        progress=False,
        durability=Durability(tmp_path, "qlearning", resume=True, steps=500),
    )
    assert int((tmp_path / "episodes.csv").read_text().splitlines()[-1].split(",")[0]) > 300


def test_a_run_directory_belongs_to_one_run(tmp_path):
    run = tmp_path / "run"
    lock = claim(run, resume=False, overwrite=False)
    with pytest.raises(RunDirectoryError, match="in use by another run"):
        claim(run, resume=False, overwrite=True)
    lock.release()
    (run / "model.pt").write_text("x")
    (run / "agent.json").write_text("{}")
    with pytest.raises(RunDirectoryError, match="--resume .* or --overwrite"):
        claim(run, resume=False, overwrite=False)
    with pytest.raises(RunDirectoryError, match="no training state"):
        claim(run, resume=True, overwrite=False)
    claim(run, resume=False, overwrite=True).release()
    assert [p.name for p in run.iterdir()] == [".lock"]
    (tmp_path / "file").write_text("")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        claim(tmp_path / "file", resume=False, overwrite=False)


def test_a_lock_dies_with_its_process(tmp_path):
    # A process that takes the lock and then waits: while it lives, the directory is refused.
    code = (
        "import sys; from pathlib import Path; from textedit_agents.runs import RunLock; "
        f"RunLock(Path({str(tmp_path)!r})); print('locked', flush=True); sys.stdin.readline()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert holder.stdout.readline() == "locked\n"
    with pytest.raises(RunDirectoryError, match=rf"in use by another run \(pid {holder.pid}\)"):
        RunLock(tmp_path)
    holder.communicate("\n", timeout=60)  # it exits without releasing: the kernel does
    RunLock(tmp_path).release()


def test_an_atomic_write_that_fails_leaves_the_previous_file(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("good")

    def crash(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, crash)
    assert path.read_text() == "good" and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def textedit(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "textedit_agents.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[1],
        # A library an earlier test loaded may have left SIGINT ignored or blocked in this process; a
        # child would inherit that (Python then installs no KeyboardInterrupt handler), so it gets the default.
        preexec_fn=default_sigint,
    )


@pytest.mark.slow
def test_ctrl_c_saves_the_run_and_resume_finishes_it(tmp_path):
    out = str(tmp_path / "run")
    common = [
        "--algo",
        "qlearning",
        "--env-kwargs",
        '{"preset": "tiny"}',
        "--out",
        out,
        "--no-progress",
        "--checkpoint-every",
        "500",
        "--eval-episodes",
        "2",
    ]
    run = textedit("train", "--steps", "10000000", *common)
    deadline = time.time() + 60
    while not (tmp_path / "run" / STATE).exists() and time.time() < deadline:
        time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    rows = (tmp_path / "run" / "episodes.csv").read_text().splitlines()

    again = textedit("train", *common)
    assert again.wait(timeout=60) == 2 and "already holds files" in again.stderr.read()
    steps = str(int(rows[-1].split(",")[0]) + 300)
    resumed = textedit("train", "--steps", steps, "--resume", *common)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert "oracle" in stdout and (tmp_path / "run" / "agent.json").exists()
    assert int((tmp_path / "run" / "episodes.csv").read_text().splitlines()[-1].split(",")[0]) <= int(steps)


@pytest.mark.slow
@pytest.mark.parametrize(
    "content", [b"", b"\x00" * 100, np.random.default_rng(0).bytes(5000)], ids=["empty", "zeros", "random"]
)
def test_a_corrupt_checkpoint_gets_one_line(tmp_path, content):
    out = tmp_path / "run"
    done = textedit(
        "train",
        "--env-kwargs",
        '{"preset": "tiny"}',
        "--steps",
        "100",
        "--dim",
        "8",
        "--out",
        str(out),
        "--no-progress",
        "--eval-episodes",
        "0",
    )
    assert done.wait(timeout=120) == 0, done.stderr.read()
    (out / "model.pt").write_bytes(content)
    evaluated = textedit("eval", str(out), "--episodes", "2")
    _, stderr = evaluated.communicate(timeout=60)
    assert evaluated.returncode == 2 and stderr.count("\n") == 1 and "cannot load the dqn agent" in stderr
