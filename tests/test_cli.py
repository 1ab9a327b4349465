"""End-to-end tests of the ``textedit`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from textedit_agents.cli import main

TINY = '{"preset": "tiny", "num_tasks": 3, "split": "all"}'
SMALL_DQN = ["--dim", "16", "--num-envs", "2", "--batch-size", "16", "--learning-starts", "50"]


def textedit(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textedit_agents.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
    )


@pytest.mark.slow
@pytest.mark.parametrize("algo, options", [("dqn", SMALL_DQN), ("qlearning", [])])
def test_train_then_eval_json(tmp_path, algo, options):
    out = tmp_path / "run"
    trained = textedit(
        "train",
        "--algo",
        algo,
        "--env-kwargs",
        TINY,
        "--steps",
        "200",
        "--seed",
        "1",
        "--out",
        str(out),
        "--eval-episodes",
        "3",
        "--no-progress",
        *options,
    )
    assert trained.returncode == 0, trained.stderr
    assert "oracle" in trained.stdout and "random" in trained.stdout
    assert (out / "episodes.csv").read_text().startswith("step,episode_return")

    evaluated = textedit("eval", str(out), "--episodes", "4", "--seed", "3", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    for key in (
        "solve_rate",
        "mean_return",
        "mean_final_score",
        "mean_steps",
        "oracle_mean_return",
        "oracle_mean_steps",
        "mean_final_bleu",
        "mean_final_rougeL",
        "final_perplexity",
        "oracle_final_perplexity",
    ):
        assert isinstance(result[key], float)
    assert result["oracle_mean_final_bleu"] > 0.99 and result["oracle_mean_final_rougeL"] == 1.0
    assert result["final_perplexity"] > 1.0
    assert result["oracle_mean_steps"] <= result["random_mean_steps"]
    assert result["split"] == "all"  # the training split when it is not "train"


THREE_PAIRS = json.dumps(
    {
        "dataset": [
            ["the cat sees dog", "the cat sees a dog"],
            ["cat the sleeps", "the cat sleeps"],
            ["a boy reads book", "a boy reads a good book"],
        ]
    }
)  # the CRC rule puts the third in test


@pytest.mark.slow
def test_a_table_is_evaluated_on_what_it_was_trained_on_and_says_so(tmp_path):
    out = tmp_path / "run"
    trained = textedit(
        "train",
        "--algo",
        "qlearning",
        "--env-kwargs",
        THREE_PAIRS,
        "--steps",
        "5000",
        "--out",
        str(out),
        "--eval-episodes",
        "20",
        "--no-progress",
    )
    assert trained.returncode == 0, trained.stderr
    assert "trains on the 'train' split: 2 of the 3 tasks" in trained.stderr
    assert "20 episodes of the 'train' split, the split it trained on" in trained.stdout
    assert "(100%; the stop_rate probes" in trained.stderr  # every state met, the probes at the references too
    assert "warning" not in trained.stderr  # two start states: the table covers them

    evaluated = json.loads(textedit("eval", str(out), "--episodes", "20", "--json").stdout)
    assert evaluated["split"] == evaluated["trained_split"] == "train" and evaluated["solve_rate"] == 1.0
    assert evaluated["states_in_table"] == evaluated["states_met"] > 0

    unseen = textedit("eval", str(out), "--episodes", "5", "--split", "all", "--json")
    assert "knows only the states it visited" in unseen.stderr
    assert json.loads(unseen.stdout)["states_in_table"] < json.loads(unseen.stdout)["states_met"]


@pytest.mark.slow
def test_training_a_table_on_more_states_than_it_can_visit_warns(tmp_path):
    result = textedit(
        "train",
        "--algo",
        "qlearning",
        "--env-kwargs",
        '{"preset": "easy"}',
        "--steps",
        "300",
        "--out",
        str(tmp_path / "run"),
        "--eval-episodes",
        "0",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "--state-key alignment" in warning[0]


def test_play_solves_a_given_pair_from_piped_stdin():
    commands = "\n".join(["x", "i 9 a", "i 3 zebra", "h", "d 0", "i 0 the", "i 3 a", ""])
    played = textedit("play", "--source", "the cat sees dog", "--reference", "the cat sees a dog", stdin=commands)
    assert played.returncode == 0, played.stderr
    out = played.stdout
    assert "unknown command 'x'" in out
    assert "insert at 9 is not possible" in out
    assert "'zebra' is not among" in out
    assert "r POS WORD" in out  # the help
    assert "solved after 3 steps" in out
    assert "reward" in out and "score 1.0000" in out


def test_play_quits_and_survives_end_of_input():
    assert textedit("play", "--seed", "0", stdin="q\n").returncode == 0
    assert textedit("play", "--seed", "0", stdin="").returncode == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--algo", "sarsa"], "--algo: invalid choice 'sarsa'"),
        (["train", "--env-kwargs", "{bad json"], "not valid JSON"),
        (["train", "--env-kwargs", "[1, 2]"], "expected a JSON object"),
        (["train", "--env-kwargs", '{"preset": "impossible"}'], "unknown preset 'impossible'"),
        (["train", "--env-kwargs", '{"no_such_kwarg": 1}'], "no_such_kwarg"),
        (["train", "--env-kwargs", '{"observation_mode": "text"}'], "drop observation_mode"),
        (["train", "--steps", "-5"], "positive integer"),
        (["train", "--algo", "qlearning", "--encoder", "gru"], "unrecognized arguments: --encoder gru"),
        (["train", "--gamma", "5"], "--gamma 5.0: expected a number between 0 and 1"),
        (["train", "--lr", "nan"], "--lr nan: expected a finite number"),
        (["train", "--seed", "-1"], "--seed -1: expected an integer >= 0"),
        (["train", "--learning-starts", "-10"], "--learning-starts -10"),
        (["train", "--eval-episodes", "-3"], "expected an integer >= 0"),
        (["train", "--num-envs", "100000"], "--num-envs 100000: expected at most 1024"),
        (["train", "--dim", "1", "--encoder", "transformer"], "multiple of heads"),
        (["train", "--device", "nonsense"], "device 'nonsense' is not available"),
        (["train", "--out", "/proc/x"], "cannot write to '/proc/x'"),
        (["train", "--resume", "--dim", "8"], "only --steps may change (got --dim)"),
        (["train", "--resume", "--overwrite"], "exclude each other"),
        (["train", "--use-stemmer", "no"], "unrecognized arguments"),
        (["eval", "/no/such/run"], "no run directory"),
        (["play", "--env-kwargs", '{"num_tasks": 0}'], "num_tasks"),
        (["play", "--reference", "a b"], "--source and --reference go together"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_code_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("textedit: error: ") and err.count("\n") == 1
    assert message in err


def test_eval_of_a_directory_without_checkpoint(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    assert "holds no trained agent (agent.json is missing)" in capsys.readouterr().err


def test_a_manifest_with_edited_args_gets_one_line(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--env-kwargs",
                TINY,
                "--steps",
                "50",
                "--out",
                str(tmp_path),
                "--overwrite",
                "--eval-episodes",
                "0",
                "--no-progress",
                *SMALL_DQN,
            ]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "agent.json").read_text())
    manifest["args"]["dimension"] = manifest["args"].pop("dim")
    (tmp_path / "agent.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot load the dqn agent" in err and "dimension" in err and err.count("\n") == 1


def test_no_arguments_print_usage_and_help_shows_defaults(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--algo", "qlearning", "--help"])
    help_text = capsys.readouterr().out
    assert "--state-key {exact,alignment,context}" in help_text and "(default: exact)" in help_text
    assert "--checkpoint-every STEPS" in help_text and "(default: 10000)" in help_text


@pytest.mark.slow
def test_bad_argument_exit_code_of_the_process():
    result = textedit("train", "--env-kwargs", "{oops")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("textedit: error:")


def test_a_new_agent_is_one_file_and_one_registry_line(tmp_path, monkeypatch, capsys):
    """tests/toy_agent.py registered by one line: train, eval and its options come from the registry."""
    from textedit_agents import registry

    monkeypatch.setitem(registry.AGENTS, "toy", "toy_agent")
    out = tmp_path / "toy"
    kwargs = json.dumps({"preset": "tiny"})
    assert main(["train", "--algo", "toy", "--steps", "50", "--out", str(out), "--env-kwargs", kwargs]) == 0
    assert json.loads((out / "agent.json").read_text())["algo"] == "toy" and (out / "toy.json").exists()
    capsys.readouterr()
    assert main(["eval", str(out), "--episodes", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 5 and result["invalid_action_rate"] == 0
    with pytest.raises(SystemExit):
        main(["train", "--algo", "toy", "--help"])
    assert "oracle steps to count" in capsys.readouterr().out
