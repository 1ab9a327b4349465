"""``TextEdit-v0``: edit a text, unit by unit, toward a reference."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textedit_env.actions import OPS, SLOT_FIRST, SLOT_OTHER, ActionCodec
from textedit_env.lm import NGramLM
from textedit_env.metrics import parse_reward, scorer_builder
from textedit_env.metrics.base import Edit, Scorer, join_units
from textedit_env.render import FrameRenderer, render_text
from textedit_env.tasks import (
    FixedTaskSet,
    GeneratedTaskSet,
    SentenceGenerator,
    Task,
    TaskSet,
    check_split,
    generated_tasks,
    get_preset,
    read_dataset,
)
from textedit_env.tasks.noise import NOISE_MODELS, LanguageModelSampler, UniformSampler, corrupt
from textedit_env.units import check_unit_kind, check_word, split_units, unique_in_order
from textedit_env.vocab import Vocabulary

OBSERVATION_MODES = ("ids", "text")
REWARD_ENGINES = ("incremental", "library")


class TextEditEnv(gym.Env):
    """
    ## Description

    The agent edits a text toward a reference, one unit (word, or character with
    ``unit="char"``) at a time, and is paid the gain in a text metric (BLEU by default,
    identical to ``sacrebleu.sentence_bleu``). An episode starts from a *source* text (a
    corrupted copy of the reference, a source given with the data, or the empty text) and ends
    when the text equals the reference or the agent stops.

    ## Action Space

    ``Discrete(n)`` with ``n = 1 + L + (L+1)*K + L*K`` for ``L = max_length`` positions and
    ``K = num_candidates`` word slots (see :mod:`textedit_env.actions` for the layout):

    | Action             | Meaning                                                             |
    |--------------------|---------------------------------------------------------------------|
    | stop               | end the episode                                                     |
    | delete p           | remove unit p (0 <= p < length)                                     |
    | insert p, k        | candidate k becomes unit p (0 <= p <= length < L)                   |
    | replace p, k       | unit p becomes candidate k (0 <= p < length, unit p != candidate k) |

    Words come from the episode's *candidates*: the reference's distinct units plus up to
    ``num_distractors`` distractors (units of the source that the reference lacks, then words
    of the task vocabulary), in a seeded random order. This keeps the action space small for
    any corpus size (a 10,000-word vocabulary costs nothing) while every reference unit is
    always expressible, so every task can be solved. The order changes between episodes, so an
    id names a slot, not a word. Use ``encode_action(op, position, word)``
    and ``decode_action(action)`` to move between ids and edits, and ``action_masks()`` for the
    boolean mask of valid actions (sb3-contrib's ``MaskablePPO`` convention).

    An action inside the space that is invalid in the state (a position past the end, an empty
    candidate slot, replacing a unit by itself, inserting into a full text) changes nothing and
    sets ``info["invalid_action"]``. An action outside the space raises ``ValueError``.

    ## Observation Space

    With ``observation_mode="ids"`` (the default), a ``Dict`` of fixed-shape integer arrays that
    stable-baselines3's ``MultiInputPolicy`` accepts:

    | Key               | Space                          | Meaning                                                   |
    |-------------------|--------------------------------|-----------------------------------------------------------|
    | `text`            | `Box(0, V-1, (L,), int64)`     | vocabulary ids of the current text, 0-padded (1 = unknown) |
    | `reference`       | `Box(0, V-1, (L,), int64)`     | vocabulary ids of the reference, 0-padded                 |
    | `candidates`      | `Box(0, V-1, (K,), int64)`     | vocabulary ids of the candidate words, 0-padded           |
    | `text_slots`      | `MultiDiscrete([K+2] * L)`     | per text unit: 2 + k if it is candidate k, 1 if none, 0 pad |
    | `reference_slots` | `MultiDiscrete([K+2] * L)`     | the same for the reference                                |
    | `lengths`         | `MultiDiscrete([L+1, L+1])`    | lengths of the text and of the reference                  |

    ``V`` is the size of the task set's vocabulary (``env.unwrapped.vocabulary``). The slot
    arrays say which word each action would write, independently of the vocabulary size: an
    agent can act on them alone. With ``observation_mode="text"`` the observation is
    ``{"text": str, "reference": str}`` (``Text`` spaces), for language-model agents.

    ## Rewards

    ``reward = metric(text after) - metric(text before) - step_penalty - invalid_penalty * invalid``
    with the metric on a 0-1 scale. Both penalties default to 0, so an episode's undiscounted
    return is the final score minus the initial score. ``reward`` names the metric:

    | `reward`          | metric                                                          |
    |-------------------|-----------------------------------------------------------------|
    | `"bleu"`          | `sacrebleu.sentence_bleu(text, [reference]).score / 100`        |
    | `"rouge1"`, `"rouge2"`, `"rougeL"` | rouge-score's F1 (`use_stemmer=` applies)      |
    | `"chrf"`          | `sacrebleu.sentence_chrf(text, [reference]).score / 100`        |
    | `{"bleu": 0.5, "rougeL": 0.5, "fluency": 0.1}` | the weighted sum of the named terms |

    ``"fluency"`` is ``exp(mean log-probability)`` of the text under an n-gram language model
    (:mod:`textedit_env.lm`) trained on the training split. Scores are computed incrementally
    and equal the libraries' values (see :mod:`textedit_env.metrics`).

    ## Starting State

    ``reset(seed=..., options=...)`` draws a task from the task set with the environment's
    seeded generator. A task without a source gets one from the noise model: ``noise="random"``
    applies a number of corruptions drawn from ``corruptions`` (insert a word of the task
    vocabulary, delete, replace, swap two neighbours), ``noise="lm"`` samples inserted and
    replacing words from the language model given the left context, ``noise="empty"`` starts
    from the empty text. ``options={"source": s, "reference": r}`` starts that exact pair
    (``source`` optional: without it the noise model makes one).

    ## Episode End

    Terminated when the text equals the reference (``info["solved"]``) or on stop. Truncated
    by ``TimeLimit`` at ``max_episode_steps`` (50 by default for ``TextEdit-v0``; pass
    ``max_episode_steps=`` to ``gym.make`` to change it).

    ## Info

    ``text`` and ``reference`` (strings), ``score`` (current metric value, 0-1), ``solved``;
    after a step also ``invalid_action``.

    ## Arguments

    | Argument           | Default         | Meaning                                                                 |
    |--------------------|-----------------|-------------------------------------------------------------------------|
    | `preset`           | `"easy"`        | task defaults: `tiny`, `easy`, `medium`, `hard` (generator), `english`, `english-long` |
    | `dataset`          | `None`          | `"english"`, `"english-long"` (bundled), a `.jsonl` / `.tsv` / text file path, or an iterable of `(source, reference)` pairs or reference strings; `None`: the preset's |
    | `split`            | `"train"`       | `"train"`, `"test"` (disjoint references) or `"all"`                    |
    | `reward`           | `"bleu"`        | metric name or `{name: weight}` (see Rewards)                           |
    | `unit`             | `"word"`        | `"word"` or `"char"`                                                    |
    | `tokenize`         | `None`          | sacrebleu BLEU tokenizer; `None`: `"13a"` for words, `"char"` for characters |
    | `use_stemmer`      | `False`         | Porter stemmer for ROUGE                                                |
    | `noise`            | `"random"`      | `"random"`, `"lm"` or `"empty"`: how sources are made from references   |
    | `corruptions`      | preset's        | corruptions per source: an int or an inclusive `(low, high)` range      |
    | `vocab_size`       | preset's        | generator: number of distinct words                                     |
    | `sentence_length`  | preset's        | generator: inclusive `(min, max)` words per reference                   |
    | `num_tasks`        | `None`          | generator: a fixed set of this many references instead of an endless stream |
    | `task_seed`        | `0`             | seed of `num_tasks` sets and of the language model's training sentences |
    | `max_length`       | from the tasks  | L: longest text; default: longest task + most corruptions + 2           |
    | `num_distractors`  | preset's        | distractor candidates per episode; K = most distinct reference units + this |
    | `step_penalty`     | `0.0`           | subtracted from every reward                                            |
    | `invalid_penalty`  | `0.0`           | subtracted from the reward of an invalid action                         |
    | `observation_mode` | `"ids"`         | `"ids"` or `"text"`                                                     |
    | `render_mode`      | `None`          | `"ansi"`, `"human"` or `"rgb_array"`                                    |
    | `reward_engine`    | `"incremental"` | `"library"` scores with the libraries themselves (slow; for checking)   |
    | `lm`               | `None`          | an `NGramLM` or a saved model's path, for `noise="lm"` and `"fluency"`  |
    | `lm_order`         | `3`             | order of the language model trained when `lm` is `None`                 |

    ## Vectorized environment

    The environment is pure Python and pickles, so ``gym.make_vec("textedit_env:TextEdit-v0",
    num_envs=n, vectorization_mode="async")`` and stable-baselines3's ``SubprocVecEnv`` run it
    in worker processes (the ``textedit_env:`` prefix imports the package there).

    ## Version History

    * v0: initial release.

    ## Example

    >>> import gymnasium as gym
    >>> import textedit_env
    >>> env = gym.make("TextEdit-v0")
    >>> obs, info = env.reset(seed=0, options={"source": "the cat sees dog", "reference": "the cat sees a dog"})
    >>> action = env.unwrapped.encode_action("insert", 3, "a")
    >>> obs, reward, terminated, truncated, info = env.step(action)
    >>> info["text"], terminated, info["solved"]
    ('the cat sees a dog', True, True)
    >>> round(reward, 4)
    0.5024
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 2}

    def __init__(
        self,
        preset: str = "easy",
        dataset: Any = None,
        split: str = "train",
        reward: str | Mapping[str, float] = "bleu",
        unit: str = "word",
        tokenize: str | None = None,
        use_stemmer: bool = False,
        noise: str = "random",
        corruptions: int | tuple[int, int] | None = None,
        vocab_size: int | None = None,
        sentence_length: tuple[int, int] | None = None,
        num_tasks: int | None = None,
        task_seed: int = 0,
        max_length: int | None = None,
        num_distractors: int | None = None,
        step_penalty: float = 0.0,
        invalid_penalty: float = 0.0,
        observation_mode: str = "ids",
        render_mode: str | None = None,
        reward_engine: str = "incremental",
        lm: NGramLM | str | Path | None = None,
        lm_order: int = 3,
    ):
        settings = get_preset(preset)
        self.unit = check_unit_kind(unit)
        self.split = check_split(split)
        self.weights = parse_reward(reward, extra_names=("fluency",))
        self.tokenize = tokenize if tokenize is not None else ("13a" if unit == "word" else "char")
        self.use_stemmer = bool(use_stemmer)
        self.noise = _choice("noise", noise, NOISE_MODELS)
        self.corruptions = _range("corruptions", settings.corruptions if corruptions is None else corruptions)
        self.step_penalty = _penalty("step_penalty", step_penalty)
        self.invalid_penalty = _penalty("invalid_penalty", invalid_penalty)
        self.observation_mode = _choice("observation_mode", observation_mode, OBSERVATION_MODES)
        self.reward_engine = _choice("reward_engine", reward_engine, REWARD_ENGINES)
        if render_mode is not None:
            _choice("render_mode", render_mode, tuple(self.metadata["render_modes"]))
        self.render_mode = render_mode

        self.task_set = self._task_set(settings, dataset, vocab_size, sentence_length, num_tasks, task_seed)
        self.vocabulary = Vocabulary(self.task_set.vocabulary)
        most_added = self.corruptions[1] if self.noise != "empty" else 0
        self.max_length = self._max_length(max_length, self.task_set.max_units + most_added + 2)
        distractors = settings.num_distractors if num_distractors is None else num_distractors
        self.num_distractors = _size("num_distractors", distractors, minimum=0)
        self.num_candidates = self.task_set.max_unique + self.num_distractors
        self.codec = ActionCodec(self.max_length, self.num_candidates)

        self.lm = self._language_model(lm, lm_order, task_seed)
        self._sampler = LanguageModelSampler(self.lm) if noise == "lm" else UniformSampler(self.task_set.vocabulary)
        self._new_scorer = scorer_builder(
            self.weights, unit=self.unit, tokenize=self.tokenize, use_stemmer=self.use_stemmer,
            engine=self.reward_engine, extra={"fluency": self.lm.scorer} if self.lm is not None else None,
        )
        self.action_space = spaces.Discrete(self.codec.n)
        self.observation_space = self._observation_space()
        self._fields = self._observation_fields()
        # Four lines (reference, text, marked edits, status); marks can double a line's length.
        longest_line = 11 + 2 * self.max_length * (self._longest_unit() + 3)
        self._frames = FrameRenderer(columns=100, rows=4 * -(-longest_line // 100))
        self._last: tuple[int, float, bool] | None = None  # (action, reward, valid) of the last step

    # ----------------------------------------------------------------- construction
    def _task_set(self, settings, dataset, vocab_size, sentence_length, num_tasks, task_seed) -> TaskSet:
        dataset = settings.dataset if dataset is None else dataset
        if dataset is not None:
            if num_tasks is not None or vocab_size is not None or sentence_length is not None:
                raise ValueError("num_tasks, vocab_size and sentence_length apply to the generator, not to a dataset")
            tasks, name = read_dataset(dataset, self.unit)
            return FixedTaskSet(tasks, self.split, name)
        if self.unit != "word":
            raise ValueError("the sentence generator makes words; pass a dataset to edit characters (unit='char')")
        low, high = _range("sentence_length", settings.sentence_length if sentence_length is None else sentence_length)
        generator = SentenceGenerator(
            _size("vocab_size", settings.vocab_size if vocab_size is None else vocab_size), low, high, settings.punctuation
        )
        if num_tasks is None:
            return GeneratedTaskSet(generator, self.split, task_seed)
        tasks = generated_tasks(generator, _size("num_tasks", num_tasks), task_seed)
        return FixedTaskSet(tasks, self.split, f"the generated set of num_tasks={num_tasks}")

    def _max_length(self, requested: int | None, needed: int) -> int:
        if requested is None:
            return needed
        _size("max_length", requested)
        if requested < self.task_set.max_units:
            raise ValueError(f"max_length={requested} is shorter than the longest task ({self.task_set.max_units} units)")
        return requested

    def _language_model(self, lm, order: int, task_seed: int) -> NGramLM | None:
        if isinstance(lm, (str, Path)):
            return NGramLM.load(lm)
        if lm is not None:
            if not isinstance(lm, NGramLM):
                raise TypeError(f"lm must be an NGramLM or a path to a saved one, got {type(lm).__name__}")
            return lm
        if self.noise == "lm" or "fluency" in self.weights:
            return NGramLM(order=order).fit(self.task_set.training_references())
        return None

    def _observation_fields(self) -> dict[str, slice]:
        """Where each array of the "ids" observation lies in the one buffer that holds them all."""
        fields, offset = {}, 0
        # The text's two arrays side by side: a step shifts both with one slice of a 2-row view.
        sizes = {"text": self.max_length, "text_slots": self.max_length, "reference": self.max_length}
        sizes.update(reference_slots=self.max_length, candidates=self.num_candidates, lengths=2)
        for name, size in sizes.items():
            fields[name] = slice(offset, offset + size)
            offset += size
        return fields

    def _longest_unit(self) -> int:
        return max(map(len, self.vocabulary.itos))

    def _observation_space(self) -> spaces.Space:
        L, K, V = self.max_length, self.num_candidates, len(self.vocabulary)
        if self.observation_mode == "text":
            charset = frozenset(ch for unit in self.vocabulary.itos[2:] for ch in unit) | {" "}
            length = L * (self._longest_unit() + 1)
            return spaces.Dict({k: spaces.Text(length, min_length=0, charset=charset) for k in ("text", "reference")})

        def ids(n: int) -> spaces.Box:
            return spaces.Box(0, V - 1, shape=(n,), dtype=np.int64)

        slots = spaces.MultiDiscrete(np.full(L, K + 2, dtype=np.int64))
        return spaces.Dict(
            {
                "text": ids(L),
                "reference": ids(L),
                "candidates": ids(K),
                "text_slots": slots,
                "reference_slots": slots,
                "lengths": spaces.MultiDiscrete(np.array([L + 1, L + 1], dtype=np.int64)),
            }
        )

    # ----------------------------------------------------------------- public state
    @property
    def text_units(self) -> list[str]:
        """The current text as a list of units (a copy)."""
        return list(self._units)

    @property
    def reference_units(self) -> list[str]:
        return list(self._reference)

    @property
    def candidates(self) -> list[str]:
        """The words that insert and replace actions can write in this episode, by slot."""
        return list(self._candidates)

    @property
    def scorer(self) -> Scorer:
        """The metric's scorer of the current text (``preview`` and ``edit_scores`` score edits
        without applying them)."""
        return self._scorer

    # ----------------------------------------------------------------- episode
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task = self._task_from_options(options) if options else self.task_set.draw(self.np_random)
        source = list(task.source) if task.source is not None else self._make_source(task.reference)
        self._start(source, list(task.reference))
        self._last = None
        return self._observation(), self._info()

    def _task_from_options(self, options: dict) -> Task:
        unknown = set(options) - {"source", "reference"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; expected 'source' and 'reference'")
        if "reference" not in options:
            raise ValueError("reset options need a 'reference' (and optionally a 'source')")
        reference = tuple(split_units(options["reference"], self.unit, what="reference"))
        if not reference:
            raise ValueError("the reference is empty")
        source = options.get("source")
        source = None if source is None else tuple(split_units(source, self.unit, what="source"))
        for name, units in (("reference", reference), ("source", source or ())):
            if len(units) > self.max_length:
                raise ValueError(f"the {name} has {len(units)} units, more than max_length={self.max_length}")
        if len(set(reference)) > self.num_candidates:
            raise ValueError(
                f"the reference has {len(set(reference))} distinct units but this environment has "
                f"num_candidates={self.num_candidates}; raise num_distractors or max_length accordingly"
            )
        return Task(source, reference)

    def _make_source(self, reference: tuple[str, ...]) -> list[str]:
        if self.noise == "empty":
            return []
        low, high = self.corruptions
        count = int(self.np_random.integers(low, high + 1))
        return corrupt(reference, count, self._sampler, self.np_random, self.max_length)

    def _start(self, source: list[str], reference: list[str]) -> None:
        self._units, self._reference = source, reference
        self._candidates = self._draw_candidates(source, reference)
        self._slot = {w: k for k, w in enumerate(self._candidates)}
        self._scorer = self._new_scorer(reference)
        self._scorer.set_hypothesis(source)
        L, K = self.max_length, self.num_candidates
        # One buffer holds every array of the "ids" observation: a step edits the text's arrays
        # in place, and an observation is one copy of the buffer, cut into views.
        self._buffer = np.zeros(self._fields["lengths"].stop, dtype=np.int64)
        self._bind_views()
        self._view("reference")[:] = self.vocabulary.encode(reference, L)
        self._cand_ids[:] = self.vocabulary.encode(self._candidates, K)
        self._view("reference_slots")[:] = self._slots(reference)
        self._text_ids[:] = self.vocabulary.encode(source, L)
        self._text_slots[:] = self._slots(source)
        self._lengths[:] = len(source), len(reference)
        self._reference_text = join_units(reference, self.unit)

    def _view(self, name: str) -> np.ndarray:
        return self._buffer[self._fields[name]]

    def _bind_views(self) -> None:
        """The views of the buffer that steps edit."""
        self._text_ids, self._text_slots = self._view("text"), self._view("text_slots")
        self._text_rows = self._buffer[: 2 * self.max_length].reshape(2, self.max_length)
        self._cand_ids, self._lengths = self._view("candidates"), self._view("lengths")

    # Pickling and deep copies copy each array on its own: the views are rebuilt on the copy.
    _VIEWS = ("_text_ids", "_text_slots", "_text_rows", "_cand_ids", "_lengths")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._VIEWS}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_buffer" in state:
            self._bind_views()

    def _draw_candidates(self, source: list[str], reference: list[str]) -> list[str]:
        """The reference's distinct units plus distractors, shuffled by the episode's generator."""
        words = unique_in_order(reference)
        taken = set(words)
        budget = min(self.num_distractors, self.num_candidates - len(words))
        # The source's wrong units first (plausible confusions), then random vocabulary words;
        # a small vocabulary may run out of distinct words, so the draws are bounded.
        distractors = [u for u in unique_in_order(source) if u not in taken][:budget]
        taken.update(distractors)
        pool = self.task_set.vocabulary
        for index in self.np_random.integers(len(pool), size=4 * budget).tolist():  # one call: cheaper than 4 * budget
            if len(distractors) >= budget:
                break
            word = pool[index]
            if word not in taken:
                distractors.append(word)
                taken.add(word)
        words += distractors
        return [words[i] for i in self.np_random.permutation(len(words)).tolist()]

    def step(self, action):
        action = self._check_action(action)
        op, position, slot = self.codec.decode(action)
        length = len(self._units)
        text_slot = self._slot.get(self._units[position], -1) if position < length else -1
        valid = self.codec.is_valid(op, position, slot, length, len(self._candidates), text_slot)
        reward = -self.step_penalty
        if not valid:
            reward -= self.invalid_penalty
        elif op != "stop":
            edit = Edit(op, position, self._word(slot))
            before = self._scorer.score
            reward += self._scorer.apply(edit) - before
            edit.apply(self._units)
            self._edit_arrays(op, position, length, slot)
            self._lengths[0] = len(self._units)
        self._last = (action, reward, valid)
        info = self._info()
        info["invalid_action"] = not valid
        terminated = op == "stop" or (valid and info["solved"])
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward), terminated, False, info

    def _edit_arrays(self, op: str, position: int, length: int, slot: int | None) -> None:
        """Mirror an edit in the text's id and slot arrays, shifting their tails in place."""
        rows = self._text_rows
        if op == "insert":
            rows[:, position + 1 : length + 1] = rows[:, position:length]  # numpy copes with the overlap
        elif op == "delete":
            rows[:, position : length - 1] = rows[:, position + 1 : length]
            rows[:, length - 1] = 0
        if op != "delete":
            self._text_ids[position] = self._cand_ids[slot]
            self._text_slots[position] = SLOT_FIRST + slot

    def _check_action(self, action) -> int:
        if isinstance(action, (int, np.integer)) and not isinstance(action, bool) and 0 <= action < self.codec.n:
            return int(action)  # the common case, without numpy conversions
        try:
            value = int(np.asarray(action).item())
        except (TypeError, ValueError):
            raise ValueError(f"action {action!r} is not an integer action id of {self.action_space}") from None
        if np.asarray(action).item() != value or not 0 <= value < self.codec.n:
            raise ValueError(f"action {action!r} is outside the action space {self.action_space}")
        return value

    # ----------------------------------------------------------------- observation
    def _slots(self, units: list[str]) -> np.ndarray:
        codes = np.zeros(self.max_length, dtype=np.int64)
        codes[: len(units)] = [SLOT_FIRST + self._slot[u] if u in self._slot else SLOT_OTHER for u in units]
        return codes

    def _observation(self):
        if self.observation_mode == "text":
            return {"text": join_units(self._units, self.unit), "reference": self._reference_text}
        buffer = self._buffer.copy()
        return {name: buffer[where] for name, where in self._fields.items()}

    def _info(self) -> dict:
        return {
            "text": join_units(self._units, self.unit),
            "reference": self._reference_text,
            "score": self._scorer.score,
            "solved": self._units == self._reference,
        }

    # ----------------------------------------------------------------- actions
    def encode_action(self, op: str, position: int = 0, word: str | None = None) -> int:
        """Action id of an edit; ``ValueError`` if this state's action space cannot express it."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; expected one of {OPS}")
        if op in ("stop", "delete"):
            if word is not None:
                raise ValueError(f"{op} takes no word, got {word!r}")
            return self.codec.encode(op, position)
        if word is None:
            raise ValueError(f"{op} needs a word")
        check_word(word, self.unit)
        if word not in self._slot:
            raise ValueError(f"{word!r} is not among this episode's candidate words {self._candidates}")
        return self.codec.encode(op, position, self._slot[word])

    def decode_action(self, action: int) -> tuple[str, int, str | None]:
        """``(op, position, word)`` of an action id; word is None for stop, delete and empty slots."""
        op, position, slot = self.codec.decode(self._check_action(action))
        return op, position, self._word(slot)

    def _word(self, slot: int | None) -> str | None:
        return self._candidates[slot] if slot is not None and slot < len(self._candidates) else None

    def action_masks(self) -> np.ndarray:
        """Boolean mask of the actions that change the text (and stop)."""
        return self.codec.mask(len(self._units), len(self._candidates), self._text_slots - SLOT_FIRST)

    def action_rewards(self) -> np.ndarray:
        """The reward each action would give in this state, without changing it."""
        before = self._scorer.score
        table = self._scorer.edit_scores(self._candidates)
        scores = self.codec.scatter(before, table.delete, table.insert, table.replace, fill=before)
        invalid = -(self.step_penalty + self.invalid_penalty)
        return np.where(self.action_masks(), scores - before - self.step_penalty, invalid)

    # ----------------------------------------------------------------- rendering
    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi', 'human' or 'rgb_array'")
            return None
        status = f"score {self._scorer.score:.4f}  last: {self._describe_last()}"
        text = render_text(self._units, self._reference, self.unit, status, colour=self.render_mode == "human")
        if self.render_mode == "human":
            print(text, flush=True)
            return None
        return text if self.render_mode == "ansi" else self._frames(text)


    def _describe_last(self) -> str:
        if self._last is None:
            return "start"
        action, reward, valid = self._last
        op, position, word = self.decode_action(action)
        edit = op if op == "stop" else f"{op} {position}" + ("" if word is None else f" {word!r}")
        return f"{edit}  reward {reward:+.4f}" + ("" if valid else "  (invalid)")


def _choice(name: str, value, allowed: tuple) -> Any:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; expected one of {allowed}")
    return value


def _size(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _range(name: str, value) -> tuple[int, int]:
    """An int n (meaning n..n) or an inclusive (low, high) pair of positive integers."""
    low, high = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else _pair(name, value)
    _size(name, low)
    if high < low:
        raise ValueError(f"{name} range {value!r} has high < low")
    return int(low), _size(name, high)


def _pair(name: str, value) -> tuple:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be an integer or a (low, high) pair, got {value!r}")
    return tuple(value)


def _penalty(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
