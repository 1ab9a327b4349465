"""Tests of the reference agents: the Q-learning update, action masking, DQN learning and checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textedit_agents import dqn, qlearning
from textedit_agents.env_util import make_env
from textedit_agents.evaluation import evaluate
from textedit_agents.networks import CONTEXT, ENCODERS, OBSERVATION_KEYS, AlignmentFeatures, EditNetwork, action_mask
from textedit_agents.policy import masked_argmax
from textedit_agents.storage import MANIFEST
from textedit_env.env import TextEditEnv
from textedit_env.policies import greedy_policy, oracle_policy, random_policy
from textedit_env.wrappers import StartAtReference

TINY = {"preset": "tiny", "num_tasks": 3, "split": "all"}
# A step penalty makes the fewest edits optimal (without one, every path to the reference has the same return).
PAIRS = {
    "dataset": [["the cat sees dog", "the cat sees a dog"], ["cat the sleeps", "the cat sleeps"]],
    "split": "all",
    "step_penalty": 0.01,
}
# A small, fast DQN: the structure of the default one, less width and fewer steps.
SMALL_DQN = dict(dim=16, num_envs=4, batch_size=32, learning_starts=200, buffer_size=5_000)


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


def spy(monkeypatch, owner: type, name: str, record) -> list:
    """The calls of the method ``owner.name`` (which still runs), each as ``record(*arguments)``."""
    calls: list = []
    method = getattr(owner, name)
    monkeypatch.setattr(owner, name, lambda self, *args: calls.append(record(*args)) or method(self, *args))
    return calls


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


def test_q_update_built_on_the_gains_moves_the_entry_as_the_q_value():
    table = qlearning.QTable()
    s, s2, a = ("a b", "a c"), ("a c", "a c x"), ("replace", 1, "c")
    e1, e2 = ("insert", 2, "x"), ("delete", 0, None)
    table.q = {s: {a: 0.1}, s2: {e1: 0.05, e2: 0.3}}
    next_gains = np.array([0.4, -0.2])
    assert table.values(s2, [e1, e2], next_gains) == pytest.approx([0.45, 0.1])
    error = table.update(s, a, 0.19, s2, [e1, e2], False, alpha=0.5, gamma=0.5, gain=0.2, next_gains=next_gains)
    # Q(s, a) = 0.2 + 0.1; target 0.19 + 0.5 * 0.45 = 0.415; the entry moves by 0.5 * 0.115
    assert error == pytest.approx(0.115)
    assert table.value(s, a) == pytest.approx(0.1 + 0.5 * 0.115)


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


def test_qlearning_learns_from_the_reward_less_its_step_cost(tmp_path, monkeypatch):
    # With epsilon 1 throughout, both runs take the same random actions: only what they learn from differs.
    learned = spy(monkeypatch, qlearning.QTable, "update", lambda s, edit, r, *rest: (edit, r))
    runs = []
    for cost in (0.0, 0.03):
        learned.clear()
        args = qlearning.Args(steps=200, step_cost=cost, epsilon_end=1.0, reference_starts=0.3)
        qlearning.train(args, {**TINY, "max_episode_steps": 4}, tmp_path / str(cost), progress=False)
        runs.append(list(learned))
    plain, costed = runs
    assert [e for e, _ in plain] == [e for e, _ in costed] and any(e[0] == "stop" for e, _ in plain)
    for (edit, reward), (_, value) in zip(plain, costed):
        assert value == pytest.approx(reward - (0.03 if edit[0] != "stop" else 0.0))


def test_alignment_keys_are_the_same_for_the_same_mistake_in_different_sentences():
    env = make_env({"preset": "english"})
    keys = []
    for source, reference, missing, position in (
        ("the cat sat on mat", "the cat sat on the mat", "the", 4),
        ("my old dog sleeps all afternoon", "my old dog sleeps all the afternoon", "the", 5),
    ):
        obs, info = env.reset(options={"source": source, "reference": reference})
        state, actions, edits = qlearning.alignment_keys(env, obs, info)
        right = env.unwrapped.encode_action("insert", position, missing)
        keys.append((state, edits[list(actions).index(right)]))
    assert keys[0] == keys[1]
    assert keys[0][0] == (-1, 1, 0, False)  # one word short, one missing, none in surplus


def test_qlearning_reads_the_gains_only_where_the_reference_is_observed(tmp_path):
    assert qlearning.Args(state_key="alignment").reads_gains() and qlearning.Args(state_key="alignment").cost() == 0.01
    assert not qlearning.Args().reads_gains() and qlearning.Args().cost() == 0.0
    hidden = {"preset": "fix-easy"}
    for args in (qlearning.Args(state_key="alignment"), qlearning.Args(state_key="context", read_gains=True)):
        with pytest.raises(ValueError, match="reads the reference, which this environment hides"):
            qlearning.Agent.validate(args, hidden)
    qlearning.Agent.validate(qlearning.Args(state_key="context"), hidden)


def test_a_run_saved_before_the_gains_and_the_step_cost_loads_without_them(tmp_path):
    args = qlearning.Args(steps=50, state_key="alignment", read_gains=False, step_cost=0.0)
    qlearning.train(args, {"preset": "tiny", "max_episode_steps": 5}, tmp_path, progress=False)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    del manifest["args"]["read_gains"], manifest["args"]["step_cost"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    assert qlearning.Agent.load(tmp_path).args == args


@pytest.mark.slow
def test_qlearning_with_alignment_keys_solves_sentences_it_never_saw(tmp_path):
    # The tiny preset's test split: measured 0.985 (seed 0) and 0.950 (seed 1) after 5,000 steps.
    args = qlearning.Args(steps=5_000, state_key="alignment")
    agent = qlearning.train(args, {"preset": "tiny", "max_episode_steps": 10}, tmp_path, progress=False)
    result = evaluate(make_env({"preset": "tiny"}, "test"), agent, episodes=40, seed=1000)
    assert result["solve_rate"] >= 0.8 and agent.known == agent.lookups  # every state met has a key in the table
    loaded = qlearning.Agent.load(tmp_path)
    assert loaded.table.q == agent.table.q and loaded.args == args


# ------------------------------------------------------------------ masks, features and the network
def batch_of(*observations: dict) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.stack([np.asarray(o[k]) for o in observations])) for k in OBSERVATION_KEYS}


@pytest.mark.parametrize("env_kwargs", [{}, {"preset": "english-long"}, {"preset": "medium", "max_length": 40}])
def test_action_mask_of_observations_equals_the_envs_masks(env_kwargs):
    env = make_env(env_kwargs)
    base, rng = env.unwrapped, np.random.default_rng(0)
    for episode in range(10):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            mask = action_mask(batch_of(obs), base.max_length, base.num_candidates)[0].numpy()
            np.testing.assert_array_equal(mask, base.action_masks())
            obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(base.action_masks()))))
            done = terminated or truncated


def pair_code(left: int, right: int, joined: bool, lacking: bool) -> int:
    return ((left * (CONTEXT + 1) + right) * 2 + joined) * 2 + lacking


def test_features_see_a_misalignment_of_any_width():
    # Thirteen spurious words before a sentence that lacks one word near its end: the missing word's
    # insert still sees three words of context on each side, as with no shift at all.
    env = make_env({"preset": "english-long"})
    reference = "we walked along the river until the sun went down behind the old stone bridge near the mill"
    missing = reference.replace(" old", "")
    prefix = "please note that all of these words were added in front by mistake".split()
    shift = len(prefix)
    base = env.unwrapped
    for source, offset in ((missing, 0), (" ".join(prefix) + " " + missing, shift)):
        obs, _ = env.reset(options={"source": source, "reference": reference})
        features = AlignmentFeatures(base.max_length, base.num_candidates)(batch_of(obs))
        gap = offset + reference.split().index("old")
        old = base.candidates.index("old")
        assert features["insert"][0, gap, old] == pair_code(3, 3, True, True)
        # The same word elsewhere has no context; a word the text has as often as the reference is not lacking.
        assert features["insert"][0, shift + 1, old] == pair_code(0, 0, True, True)
        the = base.candidates.index("the")
        assert features["insert"][0, gap, the] == pair_code(0, 0, True, False)
    # The spurious words sit in no run of the reference; the sentence's words do.
    runs = features["unit"][0, :, 4]  # the longest run through each unit
    assert (runs[:shift] == 0).all() and (runs[shift : shift + len(missing.split())] > 0).all()


@pytest.mark.parametrize("encoder", ENCODERS)
def test_network_scores_every_action_of_the_layout(encoder):
    env = make_env({})
    base = env.unwrapped
    net = EditNetwork(base.max_length, base.num_candidates, encoder, dim=16, layers=1, heads=2)
    empty, _ = env.reset(seed=0, options={"source": "", "reference": "the dog sees a cat"})
    full, _ = env.reset(
        seed=0, options={"source": " ".join(["cat"] * base.max_length), "reference": "the dog sees a cat"}
    )
    q = net(batch_of(empty, full))
    assert q.shape == (2, env.action_space.n)
    assert torch.isfinite(q).all()


def test_masked_argmax_ignores_invalid_actions():
    q = torch.tensor([[5.0, 1.0, 2.0], [0.0, 9.0, -1.0]])
    mask = torch.tensor([[False, True, True], [True, False, True]])
    assert dqn.masked_argmax(q, mask).tolist() == [2, 0]


# ------------------------------------------------------------------ DQN
class RecordingBuffer:
    def __init__(self):
        self.rows = []

    def add(self, obs, action, n_step_return, next_obs, discount):
        self.rows.append((obs, action, n_step_return, next_obs, discount))


@pytest.mark.parametrize("terminated", [True, False])
def test_n_step_returns_bootstrap_from_the_state_n_steps_later(terminated):
    buffer = RecordingBuffer()
    writer = dqn.NStepWriter(buffer, num_envs=1, n=3, gamma=0.5)
    rewards = [1.0, 2.0, 4.0, 8.0]
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        writer.add(0, f"s{t}", t, reward, f"s{t + 1}", terminated=terminated and last, done=last)
    assert [(r[0], r[3]) for r in buffer.rows] == [("s0", "s3"), ("s1", "s4"), ("s2", "s4"), ("s3", "s4")]
    assert [r[2] for r in buffer.rows] == [1 + 1 + 1, 2 + 2 + 2, 4 + 4, 8]
    # A terminated episode never bootstraps; a truncated one does, discounted by gamma^steps.
    tail = [0.0, 0.0, 0.0] if terminated else [0.125, 0.25, 0.5]
    assert [r[4] for r in buffer.rows] == [0.125] + tail


def test_n_step_writers_keep_environments_apart():
    buffer = RecordingBuffer()
    writer = dqn.NStepWriter(buffer, num_envs=2, n=2, gamma=1.0)
    writer.add(0, "a0", 0, 1.0, "a1", False, False)
    writer.add(1, "b0", 0, 10.0, "b1", False, False)
    writer.add(0, "a1", 0, 1.0, "a2", False, False)
    assert [(r[0], r[2], r[3]) for r in buffer.rows] == [("a0", 2.0, "a2")]


def test_exploration_draws_each_operation_as_often_then_a_valid_action():
    env = make_env({"preset": "english"})
    env.reset(seed=0)
    base, rng = env.unwrapped, np.random.default_rng(0)
    mask = base.action_masks()
    draws = [dqn.explore(mask, base.codec, rng) for _ in range(4000)]
    assert mask[draws].all()
    ops = [base.decode_action(a)[0] for a in draws]
    for op in ("stop", "delete", "insert", "replace"):
        assert 0.22 < ops.count(op) / len(ops) < 0.28, op
    # Where an operation has no valid action (nothing to delete in an empty text), the others share the draws.
    env.reset(seed=0, options={"source": "", "reference": "a b"})
    ops = {base.decode_action(dqn.explore(base.action_masks(), base.codec, rng))[0] for _ in range(200)}
    assert ops == {"stop", "insert"}


def test_some_training_episodes_start_at_their_reference():
    def starts(share: float) -> list[bool]:
        env = StartAtReference(make_env({}), share)
        env.reset(seed=0)
        return [info["text"] == info["reference"] for info in (env.reset()[1] for _ in range(400))]

    assert not any(starts(0.0)) and all(starts(1.0))
    assert 0.05 < np.mean(starts(0.1)) < 0.15
    assert starts(0.1) == starts(0.1)  # seeded by the env's first reset


def test_dqn_acts_and_bootstraps_on_valid_actions_only(tmp_path, no_invalid_steps, monkeypatch):
    """Acting: no invalid step (the fixture). Bootstrapping: every next action of a target is valid in
    its state, and the mask mattered (an invalid action had the higher score)."""
    picks = []

    def recorded(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        chosen = masked_argmax(scores, mask)
        picks.append((bool(mask.gather(1, chosen[:, None]).all()), bool((scores.argmax(1) != chosen).any())))
        return chosen

    monkeypatch.setattr(dqn, "masked_argmax", recorded)
    agent = dqn.train(dqn.Args(steps=400, **SMALL_DQN), TINY, tmp_path, progress=False)
    assert evaluate(make_env(TINY), agent, episodes=5, seed=0)["invalid_action_rate"] == 0
    assert picks and all(valid for valid, _ in picks)
    assert any(masked for _, masked in picks)


def test_replay_buffer_keeps_what_the_network_reads_in_small_integers():
    env = make_env(TINY)
    buffer = dqn.ReplayBuffer(4, env.observation_space)
    obs, _ = env.reset(seed=0)
    next_obs, reward, terminated, _, _ = env.step(1)  # delete unit 0
    buffer.add(obs, 1, reward, next_obs, 0.5)
    b_obs, b_actions, b_returns, b_next, b_discounts = buffer.sample(3, np.random.default_rng(0), torch.device("cpu"))
    assert set(b_obs) == set(OBSERVATION_KEYS) and b_obs["text_slots"].dtype == torch.int16
    for k in OBSERVATION_KEYS:
        np.testing.assert_array_equal(b_next[k][0].numpy(), next_obs[k])
    assert b_actions.tolist() == [1] * 3 and b_returns[0] == pytest.approx(reward) and b_discounts[0] == 0.5


@pytest.mark.slow
def test_dqn_solves_unseen_sentences_after_a_short_training(tmp_path):
    # Held-out references of the default task, half the default budget (measured: 1.00 of test episodes).
    agent = dqn.train(dqn.Args(steps=10_000), {}, tmp_path, progress=False)
    env = make_env({}, split="test")
    trained = evaluate(env, agent, episodes=40, seed=100)
    random = evaluate(env, random_policy(0), episodes=40, seed=100)
    assert trained["solve_rate"] >= 0.9 > random["solve_rate"] + 0.5
    assert trained["truncated_rate"] <= 0.05


def test_dqn_learns_from_the_scaled_reward_less_its_step_cost(tmp_path, monkeypatch):
    # Before the first update both runs take the same actions: only what they store differs (without
    # the action gains, whose weight in the Q-values is the scale).
    stored = spy(monkeypatch, dqn.NStepWriter, "add", lambda i, obs, a, r, *rest: (int(a), r))
    runs = []
    for scale, cost in ((1.0, 0.0), (3.0, 0.02)):
        stored.clear()
        args = dqn.Args(
            steps=64, reward_scale=scale, step_cost=cost, read_gains=False, **{**SMALL_DQN, "learning_starts": 1_000}
        )
        dqn.train(args, TINY, tmp_path / str(scale), progress=False)
        runs.append(list(stored))
    (plain, scaled) = runs
    assert [a for a, _ in plain] == [a for a, _ in scaled] and any(a == dqn.STOP_ACTION for a, _ in plain)
    for (action, reward), (_, learned) in zip(plain, scaled):
        assert learned == pytest.approx(3.0 * (reward - (0.02 if action != dqn.STOP_ACTION else 0.0)))


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


def test_greedy_policy_takes_the_best_edit_then_stops():
    env = make_env({"preset": "easy"})
    env.reset(seed=0, options={"source": "the cat sees dog", "reference": "the cat sees a dog"})
    action = greedy_policy(env, None, {})
    assert env.unwrapped.decode_action(action) == ("insert", 3, "a")
    env.step(action)
    env.reset(seed=0, options={"source": "the cat", "reference": "the cat"})
    assert greedy_policy(env, None, {}) == env.unwrapped.encode_action("stop")


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


def test_the_word_reader_reads_each_distinct_word_once_to_the_same_values_and_gradients():
    from textedit_agents.networks import SPELLING_BUCKETS, WordReader

    vocabulary = make_env({"preset": "fix-easy"}).unwrapped.vocabulary
    reader = WordReader(len(vocabulary), 8, vocabulary.itos)
    ids = torch.tensor([[3, 5, 3, 0], [5, 7, 3, 3]])
    weights = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(0))

    def row_by_row() -> torch.Tensor:  # every row read on its own, as before the distinct words
        grams = reader.ngrams[ids]
        summed = reader.trigrams(grams.masked_fill(grams < 0, SPELLING_BUCKETS)).sum(-2)
        return reader.embed(ids) + summed / (grams >= 0).sum(-1, keepdim=True).clamp(min=1)

    gradients = []
    for read in (lambda: reader.word(ids), row_by_row):
        reader.zero_grad()
        values = read()
        (values * weights).sum().backward()
        gradients.append((values.detach(), reader.embed.weight.grad.clone(), reader.trigrams.weight.grad.clone()))
    (values, *grads), (expected, *expected_grads) = gradients
    assert torch.equal(values, expected)
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad)


def test_the_hidden_reference_network_reads_spelling_and_never_revisits_a_text():
    from textedit_agents import dqn
    from textedit_agents.networks import WordReader
    from textedit_agents.policy import build_network

    env = make_env({"preset": "fix-easy"})
    network = build_network(env, dqn.Args())
    assert network.words is not None and network.words.spelled and network.keys[0] == "text"
    # Words that share letters start out closer than words that do not.
    vocabulary = env.unwrapped.vocabulary
    reader = WordReader(len(vocabulary), 32, vocabulary.itos)
    with torch.no_grad():
        take, takes, bird = reader.word(torch.tensor([vocabulary.id(w) for w in ("helps", "help", "bird")]))
    assert torch.cosine_similarity(take, takes, 0) > torch.cosine_similarity(take, bird, 0)
    # A greedy agent whose best action undoes the last edit takes the next best instead.
    agent = dqn.Agent(network, dqn.Args(), {"preset": "fix-easy"})
    for seed in range(5):
        seen = set()
        obs, info = env.reset(seed=seed)
        for _ in range(20):
            seen.add(tuple(env.unwrapped.text_units))
            obs, _, terminated, truncated, info = env.step(agent(env, obs, info))
            if terminated or truncated:
                break
            assert tuple(env.unwrapped.text_units) not in seen
