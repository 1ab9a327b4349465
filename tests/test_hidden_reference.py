"""The hidden-reference mode, several references, terminal rewards, levels and corruption families."""

from __future__ import annotations

import copy
import math

import gymnasium as gym
import numpy as np
import pytest

from textedit_env.metrics import library_score
from textedit_env.oracle import oracle_action
from textedit_env.policies import oracle_policy
from textedit_env.rollout import play_episode
from textedit_env.tasks import PRESETS, available_presets
from textedit_env.tasks.families import FAMILIES, build_families, corrupt_with_families

HIDDEN = [p for p in available_presets() if not PRESETS[p].observe_reference]


def make(**kwargs):
    return gym.make("TextEdit-v0", **kwargs)


def snapshot(env, obs, info) -> dict:
    """Everything an agent can read: the observation, the info, the mask and the candidates."""
    base = env.unwrapped
    return {
        "obs": {k: np.asarray(v).tolist() for k, v in obs.items()} if isinstance(obs, dict) else obs,
        "info": {k: (str(v) if isinstance(v, float) and math.isnan(v) else v) for k, v in info.items()},
        "mask": base.action_masks().tolist(),
        "candidates": base.candidates,
    }


def twin_episodes(preset: str, seed: int, steps: int, **kwargs):
    """Two environments started from the same source with different references, stepped with the
    same random valid edits: what each shows the agent, step by step."""
    first, second = make(preset=preset, **kwargs), make(preset=preset, **kwargs)
    first.reset(seed=seed)
    source = " ".join(first.unwrapped.source_units)
    other = make(preset=preset).unwrapped
    other.reset(seed=seed + 1)
    references = [" ".join(first.unwrapped.reference_units), " ".join(other.reference_units)]
    traces = []
    for env, reference in zip((first, second), references):
        obs, info = env.reset(seed=seed, options={"source": source, "reference": reference})
        trace = [snapshot(env, obs, info)]
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            mask = env.unwrapped.action_masks()
            mask[0] = False
            obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(mask))))
            trace.append(snapshot(env, obs, info))
            if terminated:
                break
        traces.append(trace)
    assert references[0] != references[1]
    return traces


@pytest.mark.slow
@pytest.mark.parametrize("preset", HIDDEN)
@pytest.mark.parametrize("observation_mode", ["ids", "text"])
def test_nothing_an_agent_reads_depends_on_the_hidden_reference(preset, observation_mode):
    """The leakage test: two tasks that share the source but not the reference look the same to the
    agent (observation, info, action mask, candidates) after reset and after every edit."""
    for seed in range(3):
        first, second = twin_episodes(preset, seed, steps=6, observation_mode=observation_mode)
        assert len(first) == 7 and first == second  # only stop ends a hidden-reference episode
    # The test can fail: with the reference observed, the twins differ.
    first, second = twin_episodes(preset, 0, steps=6, observation_mode=observation_mode, observe_reference=True)
    assert first != second


@pytest.mark.parametrize("preset", HIDDEN)
def test_the_observation_has_no_reference_key_and_renders_none(preset):
    env = make(preset=preset, render_mode="ansi")
    obs, info = env.reset(seed=0)
    assert "reference" not in obs and "reference_slots" not in obs and "source" in obs
    assert info["reference"] == "" and math.isnan(info["score"]) and not info["solved"]
    assert " ".join(env.unwrapped.reference_units) not in env.render()


def test_stop_reveals_the_outcome_and_reaching_the_reference_does_not_end_the_episode():
    env = make(preset="fix-medium")
    env.reset(seed=0)
    base = env.unwrapped
    truth = base.reference_units
    while base.text_units != truth:
        _, reward, terminated, truncated, info = env.step(oracle_action(env))
        assert not terminated and info["reference"] == ""
    _, reward, terminated, _, info = env.step(oracle_action(env))  # the oracle stops at the reference
    assert terminated and reward == 0.0
    assert info["solved"] and info["score"] == pytest.approx(1.0) and info["reference"] == " ".join(truth)
    assert base.outcome() == {k: info[k] for k in ("reference", "score", "solved")}


def test_a_time_limit_reveals_nothing_but_outcome_reads_it():
    env = make(preset="fix-easy", max_episode_steps=3)
    env.reset(seed=0)
    delete_last = env.unwrapped.encode_action("delete", env.unwrapped.max_length - 1)  # a no-op
    for _ in range(3):
        _, _, terminated, truncated, info = env.step(delete_last)
    assert truncated and not terminated and info["reference"] == "" and not info["solved"]
    assert env.unwrapped.outcome()["reference"] == " ".join(env.unwrapped.reference_units)


@pytest.mark.parametrize("preset", ["easy", "fix-medium"])
def test_terminal_rewards_pay_the_whole_gain_at_the_end(preset):
    step_env, terminal_env = make(preset=preset), make(preset=preset, reward_timing="terminal")
    for seed in range(5):
        step_rewards = [s.reward for s in play_episode(step_env, oracle_policy, seed=seed)]
        terminal_rewards = [s.reward for s in play_episode(terminal_env, oracle_policy, seed=seed)]
        assert len(step_rewards) == len(terminal_rewards)
        assert all(r == 0.0 for r in terminal_rewards[:-1])
        assert terminal_rewards[-1] == pytest.approx(sum(step_rewards), abs=1e-12)
    # Cut by the time limit: no gain paid (nothing was submitted), only the penalties.
    env = make(preset=preset, reward_timing="terminal", step_penalty=0.01, max_episode_steps=1)
    env.reset(seed=0)
    base = env.unwrapped
    move = base.encode_action("delete", 0) if len(base.text_units) > 1 else base.encode_action("stop")
    _, reward, terminated, truncated, _ = env.step(move)
    assert truncated and not terminated and reward == -0.01


def test_several_references_score_exactly_and_either_solves():
    env = make(dataset=[("the cat sat", ["a cat sat down", "the cat sat down"])], split="all")
    _, info = env.reset(seed=0)
    refs = [r.split() for r in ("a cat sat down", "the cat sat down")]
    base = env.unwrapped
    assert info["score"] == library_score("bleu", "the cat sat".split(), *refs)
    assert base.oracle_targets == [refs[1], refs[0]] or base.oracle_targets == refs
    _, reward, terminated, _, info = env.step(base.encode_action("insert", 3, "down"))  # the second reference
    assert terminated and info["solved"] and info["reference"] == "a cat sat down"
    expected = library_score("bleu", refs[1], *refs) - library_score("bleu", "the cat sat".split(), *refs)
    assert reward == expected
    env.reset(seed=0, options={"source": "cat sat", "reference": ["the cat sat", "a cat sat"]})
    assert env.unwrapped.references == [["the", "cat", "sat"], ["a", "cat", "sat"]]
    with pytest.raises(ValueError, match="non-empty list of strings"):
        env.reset(options={"reference": []})


def test_the_oracle_heads_for_what_the_hidden_action_space_can_write():
    """A correction whose word is in no candidate (not in the edit vocabulary, not in the source) is
    left out of the oracle's target: it makes the rest and stops there."""
    pairs = [("he go home", "he goes home now"), ("she go", "she goes")]
    env = make(dataset=pairs, split="all", observe_reference=False, edit_vocabulary=["goes"])
    env.reset(seed=0, options={"source": "he go home", "reference": "he goes home now"})
    assert env.unwrapped.oracle_targets == [["he", "goes", "home"]]
    steps = play_episode(env, oracle_policy, options={"source": "he go home", "reference": "he goes home now"})
    assert [s.action for s in steps][-1] == 0 and steps[-1].info["text"] == "he goes home"
    assert 0 < steps[-1].info["score"] < 1 and not steps[-1].info["solved"]


def test_the_edit_vocabulary_comes_from_the_training_split():
    env = make(preset="fix-medium")
    train_words = {w for r in env.unwrapped.task_set.training_references() for w in r}
    assert set(env.unwrapped.edit_words) <= train_words
    sized = make(preset="fix-medium", edit_vocabulary=100).unwrapped
    assert len(sized.edit_words) == 100 and sized.edit_words[:30] == env.unwrapped.edit_words[:30]
    assert set(sized.edit_words) <= train_words
    assert sized.num_candidates == 100 + sized.max_length
    chosen = make(preset="fix-medium", edit_vocabulary=["their", "there"]).unwrapped
    chosen.reset(seed=0)
    assert chosen.candidates[:2] == ["their", "there"]


def test_levels_are_fixed_tasks():
    def tasks(**kwargs):
        env = make(preset="fix-medium", **kwargs)
        out = []
        for seed in range(60):
            env.reset(seed=seed)
            out.append((tuple(env.unwrapped.source_units), tuple(env.unwrapped.reference_units)))
        return out

    three = tasks(num_levels=3)
    assert len(set(three)) <= 3
    assert set(three) == set(tasks(num_levels=3))
    assert not set(three) & set(tasks(num_levels=3, start_level=1000))
    assert len(set(tasks())) > 50  # unlimited: a new task (almost) every reset


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_corrupts_into_its_variants_and_back_by_its_corrections(name):
    env = make(preset="english", split="all")
    vocabulary = env.unwrapped.task_set.vocabulary
    families = build_families({name: 1.0}, vocabulary)
    _, family = families[name]
    corrections = set(family.corrections(vocabulary))
    rng = np.random.default_rng(0)
    changed = 0
    for reference in env.unwrapped.task_set.training_references()[:200]:
        source = corrupt_with_families(reference, 1, families, rng)
        if source == list(reference):
            assert not family.sites(reference)
            continue
        changed += 1
        assert len(source) - len(reference) in (-1, 0, 1)
        new = set(source) - set(reference)
        assert new <= {v for w in reference for v in family.variants(w)}
        # Fixing it writes only reference words that are corrections of the family (or moves words).
        assert set(reference) - set(source) <= corrections
    assert changed >= 40  # the confusion sets are in about a quarter of the sentences


def test_families_keep_capitalisation_and_punctuation():
    families = build_families({"confusion": 1.0})
    rng = np.random.default_rng(0)
    assert corrupt_with_families(["There."], 1, families, rng) in (["Their."], ["They're."])
    agreement = build_families({"agreement": {"verbs": "auxiliary"}})
    assert corrupt_with_families(["It", "is", "here"], 1, agreement, rng) == ["It", "are", "here"]
    assert corrupt_with_families(["nothing", "here"], 1, agreement, rng) == ["nothing", "here"]


def test_hidden_environments_pickle_and_copy():
    env = make(preset="fix-medium")
    env.reset(seed=0)
    clone = copy.deepcopy(env)
    action = oracle_action(env)
    assert clone.step(action)[1] == env.step(action)[1]


def test_the_non_privileged_baselines_read_nothing_of_the_reference():
    """The stop and fluency baselines act the same on twin tasks (same source, other reference)."""
    from textedit_env.policies import BASELINES

    for name in ("stop", "fluency"):
        for seed in range(3):
            first, second = make(preset="fix-medium"), make(preset="fix-medium")
            first.reset(seed=seed)
            source = " ".join(first.unwrapped.source_units)
            references = [" ".join(first.unwrapped.reference_units), "a different reference ."]
            episodes = [
                play_episode(env, BASELINES[name](0), options={"source": source, "reference": reference})
                for env, reference in zip((first, second), references)
            ]
            assert [s.action for s in episodes[0]] == [s.action for s in episodes[1]], name
