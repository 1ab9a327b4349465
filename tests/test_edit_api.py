"""What solve rate hides (stop_rate, excess_steps, detour_rate), and a trained agent used on text of
one's own: ``load_agent(run).edit``, ``textedit eval --source/--reference/--env-kwargs``, ``play --agent``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from textedit_agents import EditResult, dqn, load_agent  # noqa: E402
from textedit_agents.cli import main  # noqa: E402
from textedit_agents.env_util import make_env  # noqa: E402
from textedit_agents.evaluation import TOP_SCORE, evaluate  # noqa: E402
from textedit_env.metrics.base import join_units  # noqa: E402
from textedit_env.policies import oracle_policy, random_policy, stop_policy  # noqa: E402
from textedit_env.rollout import rollout  # noqa: E402

SMALL_DQN = {"dim": 16, "num_envs": 2, "batch_size": 16, "learning_starts": 50}
EASY = {"preset": "easy"}
HIDDEN = {"preset": "fix-easy"}


@pytest.mark.parametrize("env_kwargs", [EASY, {"preset": "medium", "reward": "chrf"}, HIDDEN])
def test_the_oracle_wastes_no_step_and_stops_at_the_reference(env_kwargs):
    result = evaluate(make_env(env_kwargs, "test"), oracle_policy, 20, 0)
    assert result["excess_steps"] == 1.0 and result["detour_rate"] == 0.0 and result["stop_rate"] == 1.0


def test_stopping_at_once_stops_at_the_reference_and_random_seldom_does():
    env = make_env(EASY, "test")
    assert evaluate(env, stop_policy, 20, 0)["stop_rate"] == 1.0
    assert evaluate(env, random_policy(0), 20, 0)["stop_rate"] < 0.3


class Detour:
    """Insert a word then delete it, then follow the oracle: one detour, two steps too many."""

    def __init__(self):
        self.episode, self.step = None, 0

    def __call__(self, env, obs, info):
        base = env.unwrapped
        if base.resets != self.episode:
            self.episode, self.step = base.resets, 0
        self.step += 1
        if self.step == 1 and len(base.text_units) < base.max_length:
            return base.encode_action("insert", 0, base.candidates[0])
        if self.step == 2 and base.text_units[0] == base.candidates[0]:
            return base.encode_action("delete", 0)
        return oracle_policy(env, obs, info)


def test_a_detour_is_counted_and_costs_excess_steps():
    env = make_env(EASY, "test")
    result, oracle = evaluate(env, Detour(), 20, 0), evaluate(env, oracle_policy, 20, 0)
    assert result["solve_rate"] == 1.0 and result["detour_rate"] == 1.0
    assert result["excess_steps"] == pytest.approx((oracle["mean_steps"] + 2) / oracle["mean_steps"])
    # the stop probes run after the episodes: the other measures are those of an evaluation without them
    assert result["mean_steps"] == oracle["mean_steps"] + 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Small DQN runs: on easy and on the hidden-reference fix-easy (quality does not matter), and on
    tiny long enough to solve it (4,000 steps: 1.00 of the test episodes)."""
    runs = {}
    for name, env_kwargs, args in (
        ("easy", EASY, dqn.Args(steps=400, **SMALL_DQN)),
        ("hidden", HIDDEN, dqn.Args(steps=400, **SMALL_DQN)),
        ("tiny", {"preset": "tiny"}, dqn.Args(steps=4000)),
    ):
        out = tmp_path_factory.mktemp(name)
        dqn.train(args, env_kwargs, out, progress=False)
        runs[name] = out
    return runs


# With the reference hidden the candidates depend on the source alone: any agent's episode is the
# evaluation's. With it observed, the distractor words are drawn at reset, so the episodes agree when
# the agent writes no distractor, as one that has learned the task (the network reads candidates by
# content, not by slot).
@pytest.mark.parametrize("name", ["tiny", "hidden"])
def test_edit_reproduces_the_evaluations_episodes(trained, name):
    agent = load_agent(str(trained[name]))
    env = make_env(agent.env_kwargs, "test")
    base = env.unwrapped
    for seed in range(15):
        obs, info = env.reset(seed=seed)
        source, references = join_units(base.text_units, base.unit), [join_units(r, base.unit) for r in base.references]
        before = base.outcome()["score"]
        episode = list(rollout(env, agent, obs, info))
        result = agent.edit(source, references)
        assert isinstance(result, EditResult)
        assert result.text == join_units(base.text_units, base.unit) and result.steps == len(episode)
        expected = [base.decode_action(s.action) for s in episode if not s.info["invalid_action"]]
        assert result.edits == [e for e in expected if e[0] != "stop"]
        assert result.score_before == pytest.approx(before) and result.score_after == pytest.approx(
            base.outcome()["score"]
        )


def test_edit_takes_a_longer_sentence_than_training_and_says_what_is_beyond_the_limits(trained):
    agent = load_agent(trained["easy"])
    reference = " ".join(["the cat sees a dog"] * 6)  # 30 words; easy's texts have at most 10
    result = agent.edit(reference.replace(" a ", " ", 1), reference)
    assert result.score_before < 1.0 and result.steps >= 1
    words = [f"w{i}" for i in range(4000)]
    with pytest.raises(ValueError, match="cannot edit that text.*MAX_ACTIONS"):
        agent.edit(" ".join(words), " ".join(words[:3500]))
    with pytest.raises(ValueError, match="reads the reference"):
        agent.edit("the cat")


def test_a_hidden_reference_agent_edits_without_a_reference_and_keeps_its_vocabulary(trained):
    agent = load_agent(trained["hidden"])
    result = agent.edit("she go to the school yesterday")
    assert result.score_before is None and result.score_after is None and result.steps >= 1
    with pytest.raises(ValueError, match="vocabulary"):
        agent.with_env_kwargs({**agent.env_kwargs, "preset": "fix-medium"})
    with pytest.raises(ValueError, match="observe_reference"):
        agent.with_env_kwargs({**agent.env_kwargs, "observe_reference": True})


def test_with_env_kwargs_acts_with_the_same_weights_on_another_dataset(trained):
    agent = load_agent(trained["easy"])
    other = agent.with_env_kwargs({"preset": "english"})
    assert other.env_kwargs == {"preset": "english"} and agent.env_kwargs == EASY
    for p, q in zip(agent.network.state_dict().values(), other.network.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    result = evaluate(make_env({"preset": "english"}, "test"), other, 5, 0)
    assert result["invalid_action_rate"] == 0


def textedit(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textedit_agents", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_eval_prints_each_edit_of_one_pair(trained, capsys):
    assert (
        main(["eval", str(trained["easy"]), "--source", "the cat sees dog", "--reference", "the cat sees a dog"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("source: the cat sees dog\n") and "score:  " in out
    assert main(["eval", str(trained["easy"]), "--source", "the cat", "--reference", "the cat", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score_before"] == pytest.approx(1.0)
    assert main(["eval", str(trained["easy"]), "--source", "the cat"]) == 2
    assert "--source and --reference go together" in capsys.readouterr().err


def test_eval_with_other_env_kwargs_and_from_another_directory(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "mine.txt").write_text("\n".join(f"the {a} sees a {b} today" for a in "abcdefgh" for b in "xyz") + "\n")
    run = tmp_path / "run"
    trained = textedit(
        "train", "--env-kwargs", '{"dataset": "data/mine.txt"}', "--steps", "200", "--out", str(run),
        "--eval-episodes", "2", "--no-progress", "--dim", "16", "--num-envs", "2", "--learning-starts", "50",
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    saved = json.loads((run / "agent.json").read_text())["env_kwargs"]["dataset"]
    assert saved == str(data / "mine.txt")  # stored absolute: eval works from anywhere
    assert main(["eval", str(run), "--episodes", "3", "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3
    assert main(["eval", str(run), "--episodes", "3", "--no-progress", "--env-kwargs", '{"reward": "chrf"}']) == 0
    assert "stop_rate" in capsys.readouterr().out
    assert main(["eval", str(run), "--env-kwargs", '{"observe_reference": false}']) == 2
    assert "--env-kwargs: the agent trained with observe_reference=True" in capsys.readouterr().err


def test_play_lets_the_agent_take_each_step(trained):
    session = textedit(
        "play", "--agent", str(trained["easy"]), "--source", "the cat sees dog", "--reference", "the cat sees a dog",
        cwd=trained["easy"], stdin="\n" * 12 + "q\n",
    )  # fmt: skip
    assert session.returncode == 0, session.stderr
    assert "agent: " in session.stdout and "Enter: the agent's next step" in session.stdout


def stop_at_the_top_score(env, obs, info):
    """The oracle's edits until the reward's metric is at its top, then stop (a text left with only punctuation
    wrong, which ROUGE does not see)."""
    base = env.unwrapped
    if base.outcome()["score"] >= TOP_SCORE:
        return base.encode_action("stop")
    return oracle_policy(env, obs, info)


def test_the_top_score_rate_counts_texts_at_rouges_top_left_unsolved():
    env = make_env({"preset": "medium", "reward": "rougeL"}, "test")
    result = evaluate(env, stop_at_the_top_score, 20, 0)
    assert result["top_score_rate"] == 1.0 and result["solve_rate"] < 1.0
    assert evaluate(env, oracle_policy, 20, 0)["top_score_rate"] == 1.0
    assert evaluate(env, stop_policy, 20, 0)["top_score_rate"] == 0.0  # every source has an error ROUGE sees
