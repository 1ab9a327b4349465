"""Task sources: the generator, presets, data files, noise."""

import json

import gymnasium as gym
import numpy as np
import pytest

from textedit_env.tasks import (
    PRESETS,
    DatasetError,
    available_presets,
    build_task_set,
    get_preset,
    in_split,
    read_dataset,
)
from textedit_env.tasks.generator import SentenceGenerator
from textedit_env.tasks.noise import UniformSampler, corrupt


def test_generator_is_seeded_and_respects_its_settings():
    generator = SentenceGenerator(vocab_size=30, min_words=4, max_words=6)
    draw = lambda seed: [generator.sample(np.random.default_rng(seed)) for _ in range(50)]  # noqa: E731
    assert draw(1) == draw(1) and draw(1) != draw(2)
    sentences = draw(1)
    assert all(4 <= len(s) <= 6 for s in sentences)
    assert {w for s in sentences for w in s} <= set(generator.vocabulary)
    assert len(generator.vocabulary) == 30


def test_generator_rejects_impossible_settings():
    with pytest.raises(ValueError, match="vocab_size"):
        SentenceGenerator(vocab_size=3, min_words=3, max_words=5)
    with pytest.raises(ValueError, match="no sentence of 20 to 30 words"):
        SentenceGenerator(vocab_size=30, min_words=20, max_words=30)


@pytest.mark.parametrize("preset", available_presets())
def test_every_preset_builds_and_resets(preset):
    env = gym.make("TextEdit-v0", preset=preset)
    _, info = env.reset(seed=0)
    assert env.unwrapped.text_units != env.unwrapped.reference_units
    assert set(available_presets()) <= set(PRESETS)


@pytest.mark.parametrize("dataset, words", [("english", (6, 12)), ("english-long", (15, 30))])
def test_bundled_english_sets(dataset, words):
    tasks, name = read_dataset(dataset, "word")
    assert len(tasks) >= 500 and repr(dataset) in name
    assert len({t.reference for t in tasks}) == len(tasks)
    assert words[0] <= min(len(t.reference) for t in tasks) and max(len(t.reference) for t in tasks) <= words[1]
    train = [t for t in tasks if in_split(t.reference, "train")]
    test = [t for t in tasks if in_split(t.reference, "test")]
    assert 0.1 < len(test) / len(tasks) < 0.3 and len(train) + len(test) == len(tasks)


def test_noise_corrupts_within_bounds_and_never_returns_the_reference():
    rng = np.random.default_rng(0)
    reference = "the cat sees a dog".split()
    sampler = UniformSampler(["the", "cat", "dog", "tree"])
    for count in (1, 2, 5):
        for _ in range(50):
            source = corrupt(reference, count, sampler, rng, max_length=8)
            assert source != reference and len(source) <= 8


def test_uniform_sampler_avoids_the_replaced_word():
    sampler, rng = UniformSampler(["a", "b"]), np.random.default_rng(0)
    assert {sampler([], "a", rng) for _ in range(20)} == {"b"}


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_jsonl_tsv_and_text_files(tmp_path):
    jsonl = write(
        tmp_path,
        "d.jsonl",
        "\n".join(
            json.dumps(r)
            for r in [
                {"source": "the cat", "reference": "the big cat"},
                {"reference": "a dog runs"},
                {"source": None, "reference": "Straße café 🙂"},
            ]
        )
        + "\n\n",
    )
    tsv = write(tmp_path, "d.tsv", "the cat\tthe big cat\n\ta dog runs\n")
    txt = write(tmp_path, "d.txt", "the big cat\n\na dog runs\n")
    jtasks, _ = read_dataset(jsonl, "word")
    assert [t.source for t in jtasks] == [("the", "cat"), None, None]
    assert jtasks[2].reference == ("Straße", "café", "🙂")
    ttasks, _ = read_dataset(tsv, "word")
    assert [t.source for t in ttasks] == [("the", "cat"), ()]
    xtasks, _ = read_dataset(str(txt), "word")
    assert [t.reference for t in xtasks] == [("the", "big", "cat"), ("a", "dog", "runs")]
    env = gym.make("TextEdit-v0", dataset=jsonl, split="all")
    _, info = env.reset(seed=0, options={"source": "the cat", "reference": "the big cat"})
    assert info["text"] == "the cat"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("e.txt", "", "e.txt: the dataset file has no tasks"),
        ("e.txt", "\n  \n", "has no tasks"),
        ("b.txt", b"good line\n\xff\xfe bad\n", "b.txt:2: not valid UTF-8"),
        ("m.jsonl", '{"reference": "ok"}\n{"reference": \n', "m.jsonl:2: not valid JSON"),
        ("m.jsonl", '{"reference": "ok"}\n["a"]\n', 'm.jsonl:2: expected an object with a "reference"'),
        ("m.jsonl", '{"reference": "  "}\n', "m.jsonl:1: the reference is empty"),
        ("m.jsonl", '{"reference": "a", "source": 5}\n', 'm.jsonl:1: "source" must be a string'),
        ("m.jsonl", '{"reference": ["ok", " "]}\n', r"m.jsonl:1: the reference is empty \(reference 2\)"),
        ("m.jsonl", '{"reference": []}\n', '"reference" must be a string or a non-empty list of strings'),
        ("m.jsonl", '{"reference": ["a", 3]}\n', '"reference" must be a string or a non-empty list'),
        ("m.tsv", "a\tb\nonly one column\n", "m.tsv:2: expected 2 or more tab-separated columns"),
        ("m.tsv", "a\tb\t\n", r"m.tsv:1: the reference is empty \(reference 2\)"),
        ("c.txt", "fine\n\nbad \x00 byte\n", "c.txt:3: reference contains the control character"),
    ],
)
def test_bad_data_files_name_file_and_line(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(DatasetError, match=message):
        gym.make("TextEdit-v0", dataset=path, split="all")


def test_missing_dataset_file(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        gym.make("TextEdit-v0", dataset=tmp_path / "nope.jsonl")


def test_build_task_set_is_the_environments_task_set():
    env = gym.make("TextEdit-v0", preset="tiny", num_tasks=5, task_seed=3, split="all")
    built = build_task_set(get_preset("tiny"), None, "all", "word", num_tasks=5, task_seed=3)
    assert [t.reference for t in built.tasks] == [t.reference for t in env.unwrapped.task_set.tasks]
    english = build_task_set(get_preset("english"), None, "test", "word")
    assert english.tasks and all(in_split(t.reference, "test") for t in english.tasks)
    with pytest.raises(ValueError, match="apply to the generator"):
        build_task_set(get_preset("english"), None, "train", "word", num_tasks=3)


def test_generator_counts_the_sentences_it_can_spell():
    generator = SentenceGenerator(**{"vocab_size": 8, "min_words": 3, "max_words": 4})
    spelled = {tuple(generator.sample(np.random.default_rng(seed))) for seed in range(2000)}
    assert len(spelled) == generator.max_sentences() == 12
