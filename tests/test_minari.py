"""Minari datasets of the baseline policies (textedit_env.collect), and infos that Minari records."""

import gymnasium as gym
import numpy as np
import pytest

minari = pytest.importorskip("minari")

from textedit_env.collect import collect  # noqa: E402  (needs minari)

TINY = {"preset": "tiny"}


@pytest.fixture(autouse=True)
def datasets_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    return tmp_path


def info_types(info: dict) -> dict:
    return {key: type(value) for key, value in info.items()}


def test_reset_and_step_infos_have_the_same_keys_and_types():
    env = gym.make("TextEdit-v0", preset="tiny", invalid_penalty=0.1)
    _, info = env.reset(seed=0, options={"source": "the dog", "reference": "the big dog"})
    expected = info_types(info)
    assert expected == {
        "text": str,
        "reference": str,
        "score": np.float64,
        "solved": np.bool_,
        "invalid_action": np.bool_,
    }
    assert not info["invalid_action"]
    base = env.unwrapped
    _, _, terminated, _, info = env.step(base.encode_action("delete", 5))
    assert info_types(info) == expected and info["invalid_action"] and terminated is False
    _, _, terminated, _, info = env.step(base.encode_action("insert", 1, "big"))
    assert info_types(info) == expected and info["solved"] and not info["invalid_action"] and terminated is True
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(base.encode_action("stop"))
    assert info_types(info) == expected and not info["solved"] and terminated is True


@pytest.mark.parametrize("policy", ["oracle", "greedy", "random"])
def test_collect_writes_a_dataset_that_loads_and_replays(policy):
    path = collect(policy, 6, TINY, f"textedit/tiny-{policy}-v0", seed=7)
    assert path.is_dir()
    dataset = minari.load_dataset(f"textedit/tiny-{policy}-v0")
    assert dataset.total_episodes == 6
    env = dataset.recover_environment()
    assert env.spec.id == "TextEdit-v0" and env.spec.kwargs == TINY
    seeds = [int(meta["seed"]) for meta in dataset.storage.get_episode_metadata(range(6))]
    assert seeds == list(range(7, 13))
    for episode, seed in zip(dataset.iterate_episodes(), seeds):
        obs, info = env.reset(seed=seed)
        assert all(np.array_equal(obs[k], episode.observations[k][0]) for k in obs)
        assert episode.infos["text"][0].decode() == info["text"]  # h5py returns strings as bytes
        for t, action in enumerate(episode.actions):
            obs, reward, terminated, truncated, info = env.step(int(action))
            assert reward == pytest.approx(episode.rewards[t], abs=1e-6)
            assert all(np.array_equal(obs[k], episode.observations[k][t + 1]) for k in obs)
            assert (terminated, truncated) == (episode.terminations[t], episode.truncations[t])
        assert episode.infos["solved"][-1] == info["solved"]
        if policy == "oracle":
            assert info["solved"]


def test_collect_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown policy 'expert'"):
        collect("expert", 1, TINY, "textedit/a-v0")
    with pytest.raises(ValueError, match="episodes=0"):
        collect("oracle", 0, TINY, "textedit/a-v0")
    with pytest.raises(ValueError, match="is not NAMESPACE/NAME-vN"):
        collect("oracle", 1, TINY, "no version")
    with pytest.raises(ValueError, match="env_kwargs must be JSON-serializable"):
        collect("oracle", 1, {**TINY, "dataset": {("the cat", "the dog")}}, "textedit/a-v0")
    collect("oracle", 1, TINY, "textedit/a-v0")
    with pytest.raises(ValueError, match="already exists"):
        collect("oracle", 1, TINY, "textedit/a-v0")


def test_minari_data_collector_records_the_infos(datasets_dir):
    pytest.importorskip("jax")  # Minari's DataCollector needs minari[create]
    from minari import DataCollector

    env = DataCollector(gym.make("TextEdit-v0", preset="tiny", max_episode_steps=5), record_infos=True)
    rng = np.random.default_rng(0)
    for seed in range(3):
        env.reset(seed=seed)
        done = False
        while not done:
            *_, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(env.unwrapped.action_masks()))))
            done = terminated or truncated
    dataset = env.create_dataset("textedit/collector-v0", algorithm_name="random")
    episode = next(dataset.iterate_episodes())
    assert set(episode.infos) == {"text", "reference", "score", "solved", "invalid_action"}
    assert len(episode.infos["score"]) == len(episode.actions) + 1
