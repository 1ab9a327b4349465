"""The action gains: every action's one-step reward as part of the observation, and DQN's use of them."""

import copy
import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from textedit_agents import dqn, load_agent
from textedit_agents.env_util import make_env
from textedit_agents.networks import GainValues
from textedit_env.wrappers import ActionGains

SMALL = dict(dim=16, num_envs=4, batch_size=32, learning_starts=200, buffer_size=5_000, steps=400)


@pytest.mark.parametrize("reward", ["bleu", "chrf", "rougeL"])
def test_gains_are_the_action_rewards_of_valid_actions_and_zero_elsewhere(reward):
    env = ActionGains(make_env({"preset": "easy", "reward": reward}))
    obs, _ = env.reset(seed=3)
    base = env.unwrapped
    for _ in range(3):
        mask = base.action_masks()
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs["gains"], np.where(mask, base.action_rewards(), 0).astype(np.float32))
        assert obs["headroom"][0] == pytest.approx(1 - base.outcome()["score"], abs=1e-6)
        # Each valid action's gain is what stepping a copy of the env pays.
        for action in np.flatnonzero(mask)[:: max(1, mask.sum() // 8)]:
            assert copy.deepcopy(env).step(int(action))[1] == pytest.approx(obs["gains"][action], abs=1e-6)
        obs, _, terminated, _, _ = env.step(int(np.argmax(np.where(mask, obs["gains"], -np.inf))))
        if terminated:
            break


@pytest.mark.filterwarnings("ignore:.*Box observation space m")  # unbounded on purpose (fluency mixes)
def test_the_wrapper_passes_the_env_checker():
    check_env(ActionGains(gym.make("TextEdit-v0", preset="easy")), skip_render_check=True)


def test_gains_are_refused_where_the_reference_is_hidden():
    with pytest.raises(ValueError, match="hides"):
        ActionGains(make_env({"preset": "fix-easy"}))


def test_dqn_reads_the_gains_only_where_they_are_the_observations_own(tmp_path):
    visible = dqn.train(dqn.Args(**SMALL), {"preset": "easy"}, tmp_path / "v", progress=False)
    hidden = dqn.train(dqn.Args(**SMALL), {"preset": "fix-easy"}, tmp_path / "h", progress=False)
    terminal = dqn.train(
        dqn.Args(**SMALL), {"preset": "easy", "reward_timing": "terminal"}, tmp_path / "t", progress=False
    )
    assert (visible.args.read_gains, hidden.args.read_gains, terminal.args.read_gains) == (True, False, False)
    assert "gains" in visible.network.keys and "gains" not in hidden.network.keys
    assert load_agent(tmp_path / "v").args.read_gains is True  # resolved when training started, and saved
    with pytest.raises(ValueError, match="hides"):
        dqn.train(dqn.Args(**SMALL, read_gains=True), {"preset": "fix-easy"}, tmp_path / "x", progress=False)


def test_a_manifest_written_before_the_gains_loads_without_them(tmp_path):
    dqn.train(dqn.Args(**SMALL, read_gains=False), {"preset": "easy"}, tmp_path, progress=False)
    manifest = tmp_path / "agent.json"
    data = json.loads(manifest.read_text())
    del data["args"]["read_gains"]
    manifest.write_text(json.dumps(data))
    agent = load_agent(tmp_path)
    assert agent.args.read_gains is False and "gains" not in agent.network.keys
    env = make_env({"preset": "easy"})
    obs, info = env.reset(seed=0)
    assert env.action_space.contains(agent(env, obs, info))


def test_the_headroom_of_a_weighted_mix_is_its_weights_summed():
    env = ActionGains(make_env({"preset": "easy", "reward": {"bleu": 0.5, "rougeL": 1.0}}))
    obs, _ = env.reset(seed=0)
    assert obs["headroom"][0] == pytest.approx(1.5 - env.unwrapped.outcome()["score"], abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_gain_values_never_stop_short_nor_edit_at_the_top(seed):
    """Whatever the network scores: an edit that gains more than its cost is worth more than stopping,
    and with no headroom left no edit is; an edit's value never leaves [its pay + low, its pay + high]."""
    values = GainValues(scale=20.0, step_cost=0.01, gamma=0.5)
    rng = np.random.default_rng(seed)
    gains = torch.tensor(rng.uniform(-0.3, 0.3, (4, 50, 1)), dtype=torch.float32)
    gains[:, 0] = 0.0  # stop pays nothing (no step penalty)
    gains[2:] = -gains[2:].abs()  # at the top score no edit gains
    scores = torch.tensor(rng.normal(0, 10, (4, 50, 1)), dtype=torch.float32)
    headroom = torch.tensor([[0.5], [0.3], [0.0], [0.0]])
    q = values.q_values(gains, headroom, scores)[..., 0]
    edits, gain = q[:, 1:], gains[:, 1:, 0]
    assert (edits[gain > values.step_cost] > q[:, :1].expand_as(edits)[gain > values.step_cost]).all()
    assert (edits[2:] < q[2:, :1]).all()  # at the top score stopping is best
    paid = values.scale * (gain - values.step_cost)
    high = values.gamma * values.scale * (headroom - gain).clamp(min=0)  # the score rises at most to the top
    assert (edits >= paid - 1e-5).all() and (edits <= paid + high + 1e-5).all()
