"""Behaviour cloning (textedit_agents.bc) from Minari datasets of the oracle."""

import numpy as np
import pytest
import torch

pytest.importorskip("minari")

from textedit_agents import bc  # noqa: E402  (needs minari)
from textedit_agents.env_util import make_env  # noqa: E402
from textedit_agents.evaluation import evaluate  # noqa: E402
from textedit_env.collect import collect  # noqa: E402
from textedit_env.policies import oracle_policy, random_policy  # noqa: E402

DATASET = "textedit/tiny-oracle-v0"


@pytest.fixture(scope="module")
def datasets_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("minari")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINARI_DATASETS_PATH", str(path))
        collect("oracle", 40, {"preset": "tiny"}, DATASET, seed=0)
        yield path


@pytest.fixture(scope="module")
def trained(datasets_dir, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("bc")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINARI_DATASETS_PATH", str(datasets_dir))
        return bc.train(bc.Args(dataset=DATASET, steps=300, batch_size=64, dim=16), {}, out, progress=False), out


@pytest.mark.slow
def test_bc_from_oracle_solves_held_out_tiny_sentences(trained):
    agent, _ = trained
    assert agent.env_kwargs == {"preset": "tiny"} and agent.eval_split() == "test"
    env = make_env(agent.env_kwargs, "test")
    solved = evaluate(env, agent, 50, 1000)["solve_rate"]
    assert solved >= 0.8 and solved > evaluate(env, random_policy(0), 50, 1000)["solve_rate"] + 0.5
    stops = 0
    for seed in range(20):  # started at the reference, it stops (learned from the reference_stops samples)
        _, info = env.reset(seed=seed)
        obs, info = env.reset(options={"source": info["reference"], "reference": info["reference"]})
        stops += agent(env, obs, info) == env.unwrapped.encode_action("stop")
    assert stops >= 18


def test_saved_agent_loads_and_acts_the_same(trained):
    agent, out = trained
    loaded = bc.Agent.load(out)
    assert loaded.args == agent.args and loaded.env_kwargs == agent.env_kwargs
    env = make_env(agent.env_kwargs, "test")
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        assert loaded(env, obs, info) == agent(env, obs, info)
    assert (out / "agent.json").exists() and (out / "config.json").exists()


def test_training_is_deterministic_with_a_seed(datasets_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets_dir))
    args = bc.Args(dataset=DATASET, steps=5, batch_size=16, dim=8)
    first = bc.train(args, {}, tmp_path / "a", progress=False).network.state_dict()
    second = bc.train(args, {}, tmp_path / "b", progress=False).network.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_demonstrations_are_the_datasets_steps_and_stops_at_the_reference(datasets_dir, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets_dir))
    observations, actions, kwargs = bc.load_demonstrations(DATASET, {"split": "all"}, reference_stops=False)
    assert kwargs == {"preset": "tiny", "split": "all"}
    env = make_env({"preset": "tiny"})
    obs, info = env.reset(seed=0)  # episode 0 of the dataset
    assert all(np.array_equal(observations[k][0], obs[k]) for k in observations)
    assert actions[0] == oracle_policy(env, obs, info)
    assert len(actions) == len(observations["text_slots"]) >= 40 and not (actions == 0).any()
    with_stops, stop_actions, _ = bc.load_demonstrations(DATASET, {})
    stops = stop_actions == env.unwrapped.encode_action("stop")
    assert stops.sum() == 40 and len(stop_actions) == len(actions) + 40  # one per episode: the oracle solves all
    assert np.array_equal(with_stops["text_slots"][stops], with_stops["reference_slots"][stops])  # at the reference


def test_unusable_datasets_are_named(datasets_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets_dir))
    with pytest.raises(ValueError, match=r"no Minari dataset 'textedit/missing-v0' in .* \(write one"):
        bc.train(bc.Args(dataset="textedit/missing-v0", steps=1), {}, tmp_path, progress=False)
    with pytest.raises(ValueError, match="change the observation space"):
        bc.load_demonstrations(DATASET, {"preset": "easy"})
    with pytest.raises(ValueError, match="batch_size=0"):
        bc.Args(batch_size=0)
