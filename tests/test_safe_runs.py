"""Runs are safe (issue 23): no code from a run directory, nothing deleted or written outside it, a
usable model after Ctrl-C, one line for every failure, and limits that fail fast."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest
import tomllib
import torch

from textedit_agents import cli, qlearning
from textedit_agents.runs import STATE, Durability, RunInterrupted
from textedit_agents.training import Checkpoints
from textedit_env.env import TextEditEnv
from textedit_env.oracle import oracle_action

ROOT = Path(__file__).parents[1]
TINY = {"preset": "tiny", "num_tasks": 4, "split": "all"}


def main(capsys, *argv: str) -> tuple[int, str]:
    """``textedit ARGV`` in this process: (exit code, stderr)."""
    capsys.readouterr()
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


def one_line(err: str) -> bool:
    """The failure is one line of its own (what came before it, a status line or a warning, is not
    part of it), and no traceback."""
    return (
        "Traceback" not in err
        and err.count("textedit: error:") == 1
        and err.strip().splitlines()[-1].startswith("textedit: error:")
    )


def wait_for_cpu(process: subprocess.Popen, seconds: float, timeout: float = 300) -> None:
    """Wait until ``process`` has used ``seconds`` of CPU time (a wall-clock wait is too short on a
    loaded machine, where imports alone can take longer)."""
    deadline = time.monotonic() + timeout
    while True:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") >= seconds:
            return
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
        time.sleep(0.2)


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def textedit(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "textedit_agents.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        # A library an earlier test loaded may have left SIGINT ignored or blocked in this process; a
        # child would inherit that (Python then installs no KeyboardInterrupt handler), so it gets the default.
        preexec_fn=default_sigint,
    )


def interrupted_qlearning_run(out: Path, steps: int = 800, at: int = 200) -> None:
    """A Q-learning run in ``out`` stopped at about step ``at`` of ``steps``, as Ctrl-C stops one."""
    durability = Durability(out, "qlearning", interval=100)
    checkpoints = Checkpoints([at], lambda step, policy: setattr(durability, "stop_requested", True))
    with pytest.raises(RunInterrupted):
        qlearning.train(qlearning.Args(steps=steps), TINY, out, False, checkpoints, durability)


# ------------------------------------------------------------------ 1. no code from a run directory
class Payload:
    """Unpickling this runs a shell command: what a crafted training state would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_crafted_training_state_runs_no_code(tmp_path, capsys):
    run, marker = tmp_path / "run", tmp_path / "pwned"
    run.mkdir()
    torch.save(
        {"format": "textedit-training-state", "version": 1, "algo": "qlearning", "state": Payload(marker)}, run / STATE
    )
    code, err = main(capsys, "train", "--algo", "qlearning", "--out", str(run), "--resume", "--no-progress")
    assert code == 2 and one_line(err) and "not a readable training state" in err
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"truncated", None], ids=["empty", "garbage", "cut-short"])
def test_an_unreadable_training_state_gets_one_line(tmp_path, capsys, content):
    run = tmp_path / "run"
    interrupted_qlearning_run(run)
    state = run / STATE
    state.write_bytes(content if content is not None else state.read_bytes()[: state.stat().st_size // 2])
    code, err = main(capsys, "train", "--algo", "qlearning", "--out", str(run), "--resume", "--no-progress")
    assert code == 2 and one_line(err) and "not a readable training state" in err


def test_a_state_of_another_algorithm_or_version_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    interrupted_qlearning_run(run)
    code, err = main(capsys, "train", "--algo", "dqn", "--out", str(run), "--resume", "--no-progress")
    assert code == 2 and one_line(err) and "holds a 'qlearning' training state, not 'dqn'" in err
    data = torch.load(run / STATE, weights_only=True)
    torch.save({**data, "version": 99}, run / STATE)
    code, err = main(capsys, "train", "--algo", "qlearning", "--out", str(run), "--resume", "--no-progress")
    assert code == 2 and one_line(err) and "version-99" in err


# ------------------------------------------------------------------ 2-3. nothing deleted or written outside
def test_overwrite_never_deletes_what_is_not_a_run(tmp_path, capsys):
    mine = tmp_path / "thesis"
    (mine / "src").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work")
    (mine / "src" / "a.py").write_text("code")
    code, err = main(capsys, "train", "--out", str(mine), "--overwrite", "--steps", "50", "--no-progress")
    assert code == 2 and one_line(err) and "not a run's (src, thesis.tex)" in err
    assert (mine / "thesis.tex").read_text() == "years of work" and (mine / "src" / "a.py").exists()
    run = tmp_path / "run"  # a run with a file of the user's in it: refused as well
    interrupted_qlearning_run(run)
    (run / "notes.txt").write_text("mine")
    code, err = main(capsys, "train", "--algo", "qlearning", "--out", str(run), "--overwrite", "--no-progress")
    assert code == 2 and "notes.txt" in err and (run / "notes.txt").exists() and (run / STATE).exists()


def test_overwrite_refuses_a_symlinked_subdirectory_before_deleting_anything(tmp_path, capsys):
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    interrupted_qlearning_run(run)
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    (run / "tensorboard").symlink_to(elsewhere, target_is_directory=True)
    code, err = main(capsys, "train", "--algo", "qlearning", "--out", str(run), "--overwrite", "--no-progress")
    assert code == 2 and one_line(err) and "symlinks (tensorboard)" in err
    assert (elsewhere / "keep.txt").read_text() == "keep" and (run / STATE).exists() and (run / "config.json").exists()


def test_a_run_writes_nothing_through_a_symlink(tmp_path, capsys):
    run, target = tmp_path / "run", tmp_path / "target.txt"
    run.mkdir()
    target.write_text("untouched")
    (run / ".lock").symlink_to(target)
    code, err = main(capsys, "train", "--out", str(run), "--steps", "50", "--no-progress")
    assert code == 2 and one_line(err) and "symlink" in err and target.read_text() == "untouched"
    resumable = tmp_path / "resumable"
    interrupted_qlearning_run(resumable)
    (resumable / "episodes.csv").unlink()
    (resumable / "episodes.csv").symlink_to(tmp_path / "created-outside.csv")  # dangling
    code, err = main(capsys, "train", "--algo", "qlearning", "--out", str(resumable), "--resume", "--no-progress")
    assert code == 2 and one_line(err) and not (tmp_path / "created-outside.csv").exists()


# ------------------------------------------------------------------ 4. a usable model after Ctrl-C
def test_an_interrupted_run_holds_its_model_and_eval_says_where_it_stopped(tmp_path, capsys):
    run = tmp_path / "run"
    interrupted_qlearning_run(run)
    manifest = json.loads((run / "agent.json").read_text())
    assert manifest["algo"] == "qlearning" and 200 <= manifest["interrupted_at_step"] < 300
    code, err = main(capsys, "eval", str(run), "--episodes", "3", "--no-progress")
    assert code == 0 and f"interrupted at step {manifest['interrupted_at_step']}" in err
    code, err = main(
        capsys, "train", "--algo", "qlearning", "--out", str(run), "--resume", "--no-progress", "--eval-episodes", "0"
    )
    assert code == 0 and "interrupted_at_step" not in json.loads((run / "agent.json").read_text())


# ------------------------------------------------------------------ 5-6. one line, no silent wrongs
def test_resume_goes_to_the_runs_own_total_and_refuses_other_env_kwargs(tmp_path, capsys):
    run = tmp_path / "run"
    interrupted_qlearning_run(run, steps=800)
    code, err = main(
        capsys, "train", "--algo", "qlearning", "--out", str(run), "--resume", "--env-kwargs", '{"preset": "easy"}'
    )
    assert code == 2 and one_line(err) and "its own environment" in err
    code, err = main(
        capsys, "train", "--algo", "qlearning", "--out", str(run), "--resume", "--no-progress", "--eval-episodes", "0"
    )
    assert code == 0 and "its own total" in err
    assert json.loads((run / "agent.json").read_text())["args"]["steps"] == 800
    assert int((run / "episodes.csv").read_text().splitlines()[-1].split(",")[0]) <= 800


def test_a_diverging_run_stops_with_the_step(tmp_path, capsys):
    code, err = main(
        capsys, "train", "--out", str(tmp_path / "r"), "--lr", "1e30", "--steps", "3000", "--learning-starts", "100",
        "--no-progress",
    )  # fmt: skip
    assert code == 2 and one_line(err) and "training diverged at step" in err


def test_json_outputs_are_strict(tmp_path, capsys):
    out = tmp_path / "r"
    code, _ = main(
        capsys, "train", "--algo", "qlearning", "--out", str(out), "--steps", "50", "--eval-episodes", "3",
        "--no-progress", "--env-kwargs", '{"preset": "tiny", "step_penalty": 1e308}',
    )  # fmt: skip
    assert code == 0
    text = (out / "eval.json").read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in eval.json"))


def test_bad_seeds_and_dataset_ids_get_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    code, err = main(capsys, "train", "--out", str(tmp_path / "r"), "--seed", str(2**64), "--steps", "10")
    assert code == 2 and one_line(err) and "seed" in err
    for dataset_id in ("bad", "textedit/x"):
        code, err = main(capsys, "collect", "--dataset-id", dataset_id, "--episodes", "2")
        assert code == 2 and one_line(err) and "NAMESPACE/NAME-vN" in err
    code, err = main(capsys, "collect", "--dataset-id", "textedit/x-v0", "--episodes", "2", "--seed", str(2**64))
    assert code == 2 and one_line(err)
    code, err = main(capsys, "collect", "--dataset-id", "textedit/x-v0", "--episodes", "2")
    assert code == 0  # nothing was left behind to block the id


def test_a_deeply_nested_manifest_gets_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "agent.json").write_text("[" * 100_000 + "]" * 100_000)
    code, err = main(capsys, "eval", str(run))
    assert code == 2 and one_line(err) and "not a readable manifest" in err


def test_a_full_disk_gets_one_line(tmp_path, capsys, monkeypatch):
    import textedit_agents.storage

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(textedit_agents.storage, "atomic_write", full)
    code, err = main(
        capsys, "train", "--algo", "qlearning", "--out", str(tmp_path / "r"), "--steps", "50", "--no-progress"
    )
    assert code == 2 and one_line(err) and "No space left on device" in err


@pytest.mark.slow
@pytest.mark.parametrize("command", ["eval", "collect", "final-eval"])
def test_ctrl_c_anywhere_exits_130_with_one_line(tmp_path, command):
    run = tmp_path / "run"
    if command != "collect":
        done = textedit("train", "--algo", "qlearning", "--env-kwargs", json.dumps(TINY), "--steps", "50", "--out",
                        str(run), "--no-progress", "--eval-episodes", "0")  # fmt: skip
        assert done.wait(timeout=120) == 0
    args = {
        "eval": ("eval", str(run), "--episodes", "1000000", "--no-progress"),
        "collect": ("collect", "--dataset-id", "textedit/big-v0", "--episodes", "1000000"),
        "final-eval": ("train", "--algo", "qlearning", "--out", str(run), "--overwrite", "--steps", "20",
                       "--eval-episodes", "1000000", "--no-progress", "--env-kwargs", json.dumps(TINY)),
    }[command]  # fmt: skip
    process = textedit(*args, env={"MINARI_DATASETS_PATH": str(tmp_path / "minari")})
    wait_for_cpu(process, 6.0)  # imports, training: well into the long loop, however loaded the machine
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err and err.strip().endswith("interrupted"), err
    assert not (tmp_path / "minari" / "textedit" / "big-v0").exists()


# ------------------------------------------------------------------ 7. limits that fail fast
def test_superlinear_costs_fail_fast():
    long_text = " ".join(f"w{i % 10}" for i in range(3_000))
    env = TextEditEnv(dataset=[long_text], split="all", render_mode="ansi")
    with pytest.raises(RuntimeError, match="call reset"):
        env.action_masks()
    with pytest.raises(RuntimeError, match="call reset"):
        env.action_rewards()
    env.reset(seed=0, options={"source": long_text.replace("w3", "w4"), "reference": long_text})
    started = time.perf_counter()
    with pytest.raises(ValueError, match="MAX_CELLS"):
        env.render()
    with pytest.raises(ValueError, match="MAX_CELLS"):
        oracle_action(env)
    assert time.perf_counter() - started < 5
    with pytest.raises(ValueError, match="lm_order must be an integer from 1 to 10"):
        TextEditEnv(lm_order=1000, noise="lm")
    with pytest.raises(ValueError, match="MB frames"):
        gym.make("TextEdit-v0", max_length=10_000, render_mode="rgb_array")


def test_the_minari_extra_installs_what_collect_needs():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("pillow") for requirement in extras["minari"])


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_ends_with_the_uninterrupted_model(tmp_path):
    """The short form of ``python -m benchmarks.kill_resume`` (30 kills: benchmarks/results/kill_resume.md)."""
    from benchmarks.kill_resume import kill_resume

    result = kill_resume(tmp_path, kills=3)
    assert result["finished"], result["finish_error"]
    assert [event["resumed"] for event in result["events"]] == [False, True, True]  # resumed after each kill
    assert result["lost_at_most_one_interval"] and result["same_model"], result["events"]
