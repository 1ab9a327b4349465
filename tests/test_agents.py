"""Tests of the reference agents: the Q-learning update, action masking, DQN learning and checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents import dqn, qlearning
from agents.common import evaluate, make_env, observation_masks, oracle_policy, random_policy
from agents.networks import ENCODERS, QNetwork
from textedit_env.env import TextEditEnv

TINY = {"preset": "tiny", "num_tasks": 3, "split": "all"}
# A step penalty makes the fewest edits optimal (without one, every path to the reference has the same return).
PAIRS = {"dataset": [["the cat sees dog", "the cat sees a dog"], ["cat the sleeps", "the cat sleeps"]], "split": "all",
         "step_penalty": 0.01}
# A small, fast DQN: the structure of the default one, less width and fewer steps.
SMALL_DQN = dict(encoder="gru", dim=32, layers=1, num_envs=4, batch_size=32, learning_starts=200, buffer_size=5_000)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def no_invalid_steps(monkeypatch):
    """Fail on any step with an action that is invalid in its state."""
    step = TextEditEnv.step

    def checked(self, action):
        assert self.action_masks()[int(action)], f"invalid action {self.decode_action(int(action))}"
        return step(self, action)

    monkeypatch.setattr(TextEditEnv, "step", checked)


# ------------------------------------------------------------------ Q-learning
def test_q_update_bootstraps_from_valid_actions_only():
    table = qlearning.QTable()
    s, s2 = ("a b", "a c"), ("a c", "a c x")
    a, valid1, valid2, invalid = ("replace", 1, "c"), ("insert", 2, "x"), ("delete", 0, None), ("replace", 0, "a")
    table.q = {s: {a: 0.5}, s2: {valid1: 0.4, valid2: -0.1, invalid: 10.0}}
    error = table.update(s, a, 0.2, s2, [valid1, valid2], terminated=False, alpha=0.5, gamma=0.9)
    # target 0.2 + 0.9 * 0.4 = 0.56 (the invalid action's 10.0 is ignored); 0.5 + 0.5 * 0.06 = 0.53
    assert error == pytest.approx(0.06)
    assert table.value(s, a) == pytest.approx(0.53)


def test_q_update_does_not_bootstrap_from_terminal_state():
    table = qlearning.QTable()
    s, s2, a = ("a b", "a c"), ("a c", "a c"), ("replace", 1, "c")
    table.q = {s: {a: 0.5}, s2: {("delete", 0, None): 1.0}}
    table.update(s, a, 0.2, s2, [("delete", 0, None)], terminated=True, alpha=0.5, gamma=0.9)
    assert table.value(s, a) == pytest.approx(0.5 + 0.5 * (0.2 - 0.5))


def test_q_update_on_unseen_pair_starts_from_zero():
    table = qlearning.QTable()
    table.update(("x", "y"), ("delete", 0, None), 1.0, ("", "y"), [("stop", 0, None)], False, alpha=0.25, gamma=0.9)
    assert table.value(("x", "y"), ("delete", 0, None)) == pytest.approx(0.25)


def test_greedy_ties_go_to_the_first_edit_without_rng():
    table = qlearning.QTable()
    edits = [("stop", 0, None), ("delete", 0, None), ("delete", 1, None)]
    table.q = {("a", "b"): {edits[1]: 0.3, edits[2]: 0.3}}
    assert table.best(("a", "b"), edits) == 1
    assert table.best(("a", "b"), edits, np.random.default_rng(0)) in (1, 2)


def test_qlearning_solves_a_small_task_set_with_the_oracles_edits(tmp_path, no_invalid_steps):
    agent = qlearning.train(qlearning.Args(steps=6_000), {**PAIRS, "max_episode_steps": 4}, tmp_path, progress=False)
    env = make_env(PAIRS)
    result = evaluate(env, agent, episodes=20, seed=0)
    assert result["solve_rate"] == 1.0
    assert result["mean_steps"] == evaluate(env, oracle_policy, episodes=20, seed=0)["mean_steps"]
    loaded = qlearning.Agent.load(tmp_path)
    assert loaded.table.q == agent.table.q
    assert evaluate(env, loaded, episodes=20, seed=0) == result


# ------------------------------------------------------------------ masks and the network
def test_observation_masks_equal_the_envs_masks():
    env = make_env({})
    rng = np.random.default_rng(0)
    for episode in range(20):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            batch = {k: np.asarray(v)[None] for k, v in obs.items()}
            np.testing.assert_array_equal(observation_masks(batch, env.unwrapped.codec)[0], env.unwrapped.action_masks())
            obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(env.unwrapped.action_masks()))))
            done = terminated or truncated


def test_masked_argmax_ignores_invalid_actions():
    q = torch.tensor([[5.0, 1.0, 2.0], [0.0, 9.0, -1.0]])
    mask = torch.tensor([[False, True, True], [True, False, True]])
    assert dqn.masked_argmax(q, mask).tolist() == [2, 0]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_network_scores_every_action_of_the_layout(encoder):
    env = make_env({})
    base = env.unwrapped
    net = QNetwork(base.max_length, base.num_candidates, encoder, dim=16, layers=1, heads=2)
    obs, _ = env.reset(seed=0, options={"source": "", "reference": "the dog sees a cat"})  # an empty text too
    batch = {k: torch.as_tensor(np.stack([np.asarray(v)] * 2)) for k, v in obs.items()}
    q = net(batch)
    assert q.shape == (2, env.action_space.n)
    assert torch.isfinite(q).all()


# ------------------------------------------------------------------ DQN
def test_dqn_acts_and_bootstraps_on_valid_actions_only(tmp_path, no_invalid_steps):
    agent = dqn.train(dqn.Args(steps=400, **SMALL_DQN), TINY, tmp_path, progress=False)
    evaluate(make_env(TINY), agent, episodes=5, seed=0)


def test_replay_buffer_stores_the_mask_of_the_final_state():
    env = make_env(TINY)
    buffer = dqn.ReplayBuffer(4, env.observation_space, env.action_space.n)
    obs, _ = env.reset(seed=0)
    next_obs, reward, terminated, _, _ = env.step(1)  # delete unit 0
    buffer.add(obs, 1, reward, next_obs, env.unwrapped.action_masks(), terminated)
    *_, next_masks, stored_terminated = buffer.sample(1, np.random.default_rng(0), torch.device("cpu"))
    np.testing.assert_array_equal(next_masks[0].numpy(), env.unwrapped.action_masks())
    assert stored_terminated[0] == float(terminated)


def test_dqn_beats_a_random_agent_on_a_tiny_task_set(tmp_path):
    agent = dqn.train(dqn.Args(steps=2_000, exploration_fraction=0.5, **SMALL_DQN), TINY, tmp_path, progress=False)
    env = make_env(TINY)
    trained = evaluate(env, agent, episodes=30, seed=100)
    random = evaluate(env, random_policy(0), episodes=30, seed=100)
    # A budget of seconds: far from the oracle, clearly above chance (measured: 0.30 vs 0.03 solved).
    assert trained["mean_return"] > random["mean_return"] + 0.2
    assert trained["solve_rate"] > random["solve_rate"] + 0.15


def test_dqn_is_deterministic_and_checkpoints_round_trip(tmp_path):
    args = dqn.Args(steps=300, **SMALL_DQN)
    first = dqn.train(args, TINY, tmp_path / "a", progress=False)
    second = dqn.train(args, TINY, tmp_path / "b", progress=False)
    for p, q in zip(first.network.state_dict().values(), second.network.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)

    loaded = dqn.Agent.load(tmp_path / "a")
    assert loaded.args == first.args and loaded.env_kwargs == TINY
    env = make_env(TINY)
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        assert loaded(env, obs, info) == first(env, obs, info)


def test_evaluation_reports_bleu_rouge_and_perplexity_of_final_texts():
    from textedit_env.lm import NGramLM

    env = make_env(TINY)
    lm = NGramLM(order=3).fit(env.unwrapped.task_set.training_references())
    oracle = evaluate(env, oracle_policy, episodes=10, seed=0, lm=lm)
    random = evaluate(env, random_policy(0), episodes=10, seed=0, lm=lm)
    assert oracle["mean_final_rougeL"] == 1.0 and oracle["mean_final_bleu"] == pytest.approx(1.0)
    assert random["mean_final_bleu"] < oracle["mean_final_bleu"]
    # The oracle ends on training-like references, a random agent on scrambled texts.
    assert oracle["final_perplexity"] < random["final_perplexity"]
