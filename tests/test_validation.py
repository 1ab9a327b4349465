"""Bad input to the environment gets a clear error that names the argument (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textedit_env.env import TextEditEnv
from textedit_env.lm import NGramLM

PAIR = {"source": "the cat sees dog", "reference": "the cat sees a dog"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"preset": ["easy"]}, "preset"),
        ({"dataset": 42}, "dataset must be"),
        ({"split": None}, "split"),
        ({"reward": {"bleu": -1}}, "weight of 'bleu' must be a finite number >= 0"),
        ({"reward": {"bleu": 1e308, "rougeL": 1e308}}, "finite sum"),
        ({"reward": {1: 1.0}}, "names must be strings"),
        ({"unit": ["word"]}, "unit"),
        ({"tokenize": ["13a"]}, "tokenize"),
        ({"use_stemmer": "no"}, "use_stemmer must be True or False"),
        ({"use_stemmer": 1}, "use_stemmer must be True or False"),
        ({"noise": 3}, "noise"),
        ({"observe_reference": "no"}, "observe_reference must be True or False"),
        ({"reward_timing": "end"}, "reward_timing"),
        ({"families": {"article": 1}}, "families apply to noise='families'"),
        ({"noise": "families"}, "needs unit='word' and families"),
        ({"noise": "families", "families": {"typo": 1}}, "unknown corruption family 'typo'"),
        ({"noise": "families", "families": {"swap": -1}}, r"families\['swap'\] weight must be a positive number"),
        ({"noise": "families", "families": {"swap": {"distance": 0}}}, "swap distance must be an integer >= 1"),
        ({"noise": "families", "families": {"swap": {"span": 2}}}, r"families\['swap'\]: .*span"),
        ({"noise": "families", "families": {"article": {"ops": ["drop", "x"]}}}, "article ops"),
        ({"noise": "families", "families": {"agreement": {"verbs": "modal"}}}, "agreement verbs"),
        ({"noise": "families", "families": {"confusion": {"sets": "rare"}}}, "confusion sets"),
        ({"noise": "families", "families": {"misspelling": {"words": -3}}}, "misspelling words"),
        ({"noise": "families", "families": "swap"}, "families must be a non-empty list"),
        ({"edit_vocabulary": 100}, "edit_vocabulary applies with the reference hidden"),
        ({"observe_reference": False, "edit_vocabulary": "the"}, "edit_vocabulary must be None"),
        ({"observe_reference": False, "edit_vocabulary": []}, "edit_vocabulary is an empty list"),
        ({"observe_reference": False, "edit_vocabulary": ["a b"]}, "whitespace"),
        ({"observe_reference": False, "edit_vocabulary": 0}, "edit_vocabulary must be an integer >= 1"),
        ({"num_levels": -1}, "num_levels must be an integer >= 0"),
        ({"start_level": "x"}, "start_level must be an integer >= 0"),
        ({"corruptions": (2, "3")}, "corruptions high must be an integer"),
        ({"corruptions": 1.5}, "corruptions"),
        ({"vocab_size": "30"}, "vocab_size"),
        ({"sentence_length": (3, "6")}, "sentence_length high"),
        ({"num_tasks": 2.5}, "num_tasks"),
        ({"task_seed": -1}, "task_seed must be an integer >= 0"),
        ({"task_seed": "x"}, "task_seed must be an integer >= 0"),
        ({"max_length": True}, "max_length"),
        ({"num_distractors": 1.5}, "num_distractors"),
        ({"step_penalty": "0"}, "step_penalty"),
        ({"invalid_penalty": True}, "invalid_penalty"),
        ({"step_penalty": 1e308, "invalid_penalty": 1e308}, "finite sum"),
        ({"reward": {"bleu": 1e308}, "step_penalty": 1e308}, "finite sum"),
        ({"observation_mode": ["ids"]}, "observation_mode"),
        ({"render_mode": 1}, "render_mode"),
        ({"reward_engine": None}, "reward_engine"),
        ({"lm": 42}, "lm must be an NGramLM"),
        ({"lm_order": "3"}, "lm_order"),
        ({"lm_order": 0, "noise": "lm"}, "lm_order"),
    ],
)
def test_every_argument_is_checked_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TextEditEnv(**kwargs)


def test_reset_options_must_be_a_dict():
    env = TextEditEnv()
    with pytest.raises(ValueError, match="reset options must be a dict"):
        env.reset(seed=0, options=42)


@pytest.mark.parametrize("action", [float("inf"), float("nan"), "3", 2.5, [1, 2], None, True])
def test_actions_that_are_no_integers_are_refused(action):
    env = TextEditEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="must be an integer action id"):
        env.step(action)


def test_integral_actions_of_any_numeric_type_are_accepted():
    env = TextEditEnv()
    env.reset(seed=0, options=PAIR)
    stop = env.unwrapped.encode_action("delete", 0)
    for action in (np.int32(stop), np.array(stop), float(stop)):
        env.reset(seed=0, options=PAIR)
        assert env.step(action)[4]["text"] == "cat sees dog"
    with pytest.raises(ValueError, match="outside the action space"):
        env.step(env.action_space.n)


def test_stepping_after_the_episode_terminated_asks_for_a_reset():
    env = TextEditEnv()
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)  # before the first reset
    env.reset(seed=0)
    assert env.step(0)[2]  # stop terminates
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=1)
    env.step(env.unwrapped.encode_action("delete", 0))  # a step that does not end the episode...
    env.step(0)  # ...leaves the env steppable


def test_a_mapping_dataset_maps_sources_to_references():
    env = TextEditEnv(dataset={"the cat sees dog": "the cat sees a dog"}, split="all")
    _, info = env.reset(seed=0)
    assert (info["text"], info["reference"]) == ("the cat sees dog", "the cat sees a dog")


def test_negative_reward_weights_are_refused_not_paid():
    with pytest.raises(ValueError, match="bleu"):
        TextEditEnv(reward={"bleu": -1})


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "textedit-env/ngram-lm", "version": 1, "smoothing": "mle"}', r"lacks the field\(s\) \['order'"),
        (
            '{"format": "textedit-env/ngram-lm", "version": 1, "order": 2, "smoothing": "mle", "discount": 0.5, '
            '"k": 1, "ngrams": [[["a"], 3]]}',
            "row 0",
        ),
        ("[1, 2]", "is not a version-1"),
    ],
)
def test_a_malformed_language_model_file_is_named_with_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    for load in (lambda: NGramLM.load(path), lambda: TextEditEnv(lm=path, noise="lm")):
        with pytest.raises(ValueError, match=message) as caught:
            load()
        assert "model.json" in str(caught.value)


def test_a_missing_language_model_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="missing.json"):
        TextEditEnv(lm=str(tmp_path / "missing.json"))


def test_a_saved_language_model_still_loads(tmp_path):
    path = tmp_path / "model.json"
    NGramLM(order=2).fit([["the", "cat"], ["a", "dog"]]).save(path)
    env = TextEditEnv(lm=path, reward={"bleu": 1.0, "fluency": 0.5})
    assert env.lm.order == 2 and json.loads(path.read_text())["order"] == 2
