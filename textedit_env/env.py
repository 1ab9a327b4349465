"""``TextEdit-v0``: edit a text, unit by unit, toward a reference."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textedit_env.actions import OPS, SLOT_FIRST, SLOT_OTHER, ActionCodec
from textedit_env.candidates import (
    build_edit_vocabulary,
    draw_visible_candidates,
    source_additions,
    training_frequency,
)
from textedit_env.lm import NGramLM, language_model
from textedit_env.metrics import ENGINES, parse_reward, scorer_builder
from textedit_env.metrics.base import Edit, Scorer, join_units
from textedit_env.observation import ObservationBuffer
from textedit_env.oracle import projection
from textedit_env.render import FrameRenderer, render_text
from textedit_env.tasks import Task, build_task_set, check_split, get_preset
from textedit_env.tasks.checks import check_bool, check_choice, check_int, check_penalty, check_range
from textedit_env.tasks.families import build_families, corrupt_with_families
from textedit_env.tasks.noise import NOISE_MODELS, LanguageModelSampler, UniformSampler, corrupt
from textedit_env.units import check_unit_kind, check_word, split_units
from textedit_env.vocab import Vocabulary

OBSERVATION_MODES = ("ids", "text")
REWARD_TIMINGS = ("step", "terminal")
MAX_FRAME_BYTES = 32 << 20
"""the largest ``rgb_array`` frame (it grows with max_length: 10,000 units made 241 MB frames)"""


class TextEditEnv(gym.Env):
    """
    ## Description

    The agent edits a text toward a reference, one unit (word, or character with
    ``unit="char"``) at a time, and is paid the gain in a text metric (BLEU by default,
    identical to ``sacrebleu.sentence_bleu``). An episode starts from a *source* text (a
    corrupted copy of the reference, a source given with the data, or the empty text) and ends
    when the text equals the reference or the agent stops.

    Two modes. With ``observe_reference=True`` (the default) the agent sees the reference: the
    task is to find and make the edits between two texts it sees. With ``observe_reference=False``
    (the ``fix-*`` presets) it sees only the text and its source, never the reference, as in
    grammatical error correction: it must learn what is wrong from the text alone, and when to
    stop. Rewards are the same exact metric gains against the hidden reference(s).

    ## Action Space

    ``Discrete(n)`` with ``n = 1 + L + (L+1)*K + L*K`` for ``L = max_length`` positions and
    ``K = num_candidates`` word slots (see :mod:`textedit_env.actions` for the layout):

    | Action             | Meaning                                                             |
    |--------------------|---------------------------------------------------------------------|
    | stop               | end the episode                                                     |
    | delete p           | remove unit p (0 <= p < length)                                     |
    | insert p, k        | candidate k becomes unit p (0 <= p <= length < L)                   |
    | replace p, k       | unit p becomes candidate k (0 <= p < length, unit p != candidate k) |

    Words come from the episode's *candidates* (:mod:`textedit_env.candidates`). With the
    reference observed: the references' distinct units plus up to ``num_distractors``
    distractors (units of the source that the reference lacks, then words of the task
    vocabulary), in a seeded random order, so every reference is expressible and an id names a
    slot, not a word. With the reference hidden: a fixed *edit vocabulary* (``edit_vocabulary``,
    built from the training split: the words fixes write) followed by the source's other words,
    in a fixed order that depends on the source alone. Either way the action space stays small
    for any corpus size. Use ``encode_action(op, position, word)`` and ``decode_action(action)``
    to move between ids and edits, and ``action_masks()`` for the boolean mask of valid actions
    (sb3-contrib's ``MaskablePPO`` convention).

    An action inside the space that is invalid in the state (a position past the end, an empty
    candidate slot, replacing a unit by itself, inserting into a full text) changes nothing and
    sets ``info["invalid_action"]``. An action outside the space raises ``ValueError``.

    ## Observation Space

    With ``observation_mode="ids"`` (the default), a ``Dict`` of fixed-shape integer arrays that
    stable-baselines3's ``MultiInputPolicy`` accepts:

    | Key               | Space                          | Meaning                                                   |
    |-------------------|--------------------------------|-----------------------------------------------------------|
    | `text`            | `Box(0, V-1, (L,), int64)`     | vocabulary ids of the current text, 0-padded (1 = unknown) |
    | `reference`       | `Box(0, V-1, (L,), int64)`     | vocabulary ids of the (first) reference, 0-padded         |
    | `candidates`      | `Box(0, V-1, (K,), int64)`     | vocabulary ids of the candidate words, 0-padded           |
    | `text_slots`      | `MultiDiscrete([K+2] * L)`     | per text unit: 2 + k if it is candidate k, 1 if none, 0 pad |
    | `reference_slots` | `MultiDiscrete([K+2] * L)`     | the same for the reference                                |
    | `lengths`         | `MultiDiscrete([L+1, L+1])`    | lengths of the text and of the reference                  |

    With the reference hidden, ``source`` and ``source_slots`` (the episode's starting text)
    take the place of ``reference`` and ``reference_slots``, and ``lengths`` is that of the
    text and of the source. ``V`` is the size of the vocabulary (``env.unwrapped.vocabulary``:
    the task set's units, every word its corruption families can write, the edit vocabulary).
    The slot arrays say which word each action would write, independently of the vocabulary
    size. With ``observation_mode="text"`` the observation is ``{"text": str, "reference": str}``
    (``"source"`` when hidden), ``Text`` spaces, for language-model agents.

    ## Rewards

    ``reward = metric(text after) - metric(text before) - step_penalty - invalid_penalty * invalid``
    with the metric on a 0-1 scale. Both penalties default to 0, so an episode's undiscounted
    return is the final score minus the initial score. With ``reward_timing="terminal"`` the
    metric's gain is paid at once on the step that terminates the episode (stop, or reaching the
    reference where that ends it), the whole gain since reset; every other step pays only the
    penalties, and an episode cut by the time limit pays no gain. ``reward`` names the metric:

    | `reward`          | metric                                                          |
    |-------------------|-----------------------------------------------------------------|
    | `"bleu"`          | `sacrebleu.sentence_bleu(text, references).score / 100`         |
    | `"rouge1"`, `"rouge2"`, `"rougeL"` | rouge-score's F1, the best reference's (`use_stemmer=` applies) |
    | `"chrf"`          | `sacrebleu.sentence_chrf(text, references).score / 100`         |
    | `{"bleu": 0.5, "rougeL": 0.5, "fluency": 0.1}` | the weighted sum of the named terms |

    A task may have several references (a list in the data, or in ``reset`` options); each
    metric then scores against all of them as its library does. ``"fluency"`` is ``exp(mean
    log-probability)`` of the text under an n-gram language model (:mod:`textedit_env.lm`)
    trained on the training split. Scores are computed incrementally and equal the libraries'
    values (see :mod:`textedit_env.metrics`).

    ## Starting State

    ``reset(seed=..., options=...)`` draws a task from the task set with the environment's
    seeded generator. A task without a source gets one from the noise model: ``noise="random"``
    applies a number of corruptions drawn from ``corruptions`` (insert a word of the task
    vocabulary, delete, replace, swap two neighbours), ``noise="lm"`` samples inserted and
    replacing words from the language model given the left context, ``noise="families"`` applies
    corruptions of the ``families`` (:mod:`textedit_env.tasks.families`: confusion sets, articles,
    agreement, swaps, misspellings), ``noise="empty"`` starts from the empty text. With
    ``num_levels=N`` (Procgen's convention) a reset draws one of N *levels*, ``start_level`` to
    ``start_level + N - 1``, and level i is always the same task and source (drawn with seed i):
    train on N levels, test on others to measure generalization. ``options={"source": s,
    "reference": r}`` starts that exact pair (``r`` a string or a list of references; ``source``
    optional: without it the noise model makes one).

    ## Episode End

    Terminated on stop, or, with the reference observed, when the text equals a reference
    (``info["solved"]``). With the reference hidden only stop ends an episode: ending it at the
    reference would reveal the reference. Truncated by ``TimeLimit`` at ``max_episode_steps``
    (50 by default for ``TextEdit-v0``; pass ``max_episode_steps=`` to ``gym.make`` to change
    it). A step after termination (or before the first reset) raises ``RuntimeError``: call
    ``reset()`` first.

    ## Info

    The same keys after ``reset`` and ``step``: ``text`` and ``reference`` (``str``), ``score`` (current
    metric value, 0-1, ``np.float64``), ``solved`` and ``invalid_action`` (``np.bool_``; False after reset).
    With the reference hidden, ``reference``, ``score`` and ``solved`` are revealed only on the step
    that stops the episode (before it: ``""``, NaN and False): the agent learns them when it submits
    its text, not earlier. An episode cut by the time limit is not submitted and reveals nothing;
    read its outcome with the privileged ``env.unwrapped.outcome()``.

    ## Privileged access

    These read the reference and are for evaluation, baselines and teachers, not for an agent's
    input in the hidden mode: ``oracle_action`` (:mod:`textedit_env.oracle`) and
    ``oracle_targets``, ``action_rewards()``, ``outcome()``, ``scorer``, ``reference_units``,
    ``references``, and ``render()`` with the reference observed.

    ## Arguments

    | Argument           | Default         | Meaning                                                                 |
    |--------------------|-----------------|-------------------------------------------------------------------------|
    | `preset`           | `"easy"`        | task defaults: `tiny`, `easy`, `medium`, `hard` (generator), `english`, `english-long`, and the hidden-reference `fix-easy`, `fix-medium`, `fix-hard` |
    | `dataset`          | `None`          | `"english"`, `"english-long"` (bundled), a `.jsonl` / `.tsv` / text file path, a mapping `{source: reference}`, or an iterable of `(source, reference)` pairs or reference strings (a reference may be a list of several); `None`: the preset's |
    | `split`            | `"train"`       | `"train"`, `"test"` (disjoint references) or `"all"`                    |
    | `reward`           | `"bleu"`        | metric name or `{name: weight}`, weights >= 0 with a finite sum (see Rewards) |
    | `reward_timing`    | `"step"`        | `"step"`: each step pays its gain; `"terminal"`: the episode's gain at its end |
    | `observe_reference` | preset's       | `True`: the observation shows the reference; `False`: hidden (the `fix-*` presets) |
    | `unit`             | `"word"`        | `"word"` or `"char"`                                                    |
    | `tokenize`         | `None`          | sacrebleu BLEU tokenizer; `None`: `"13a"` for words, `"char"` for characters |
    | `use_stemmer`      | `False`         | Porter stemmer for ROUGE                                                |
    | `noise`            | preset's        | `"random"`, `"lm"`, `"families"` or `"empty"`: how sources are made from references |
    | `families`         | preset's        | `noise="families"`: `{name: weight}` or `{name: {"weight": w, option: value}}` over `confusion`, `article`, `agreement`, `swap`, `misspelling` |
    | `corruptions`      | preset's        | corruptions per source: an int or an inclusive `(low, high)` range      |
    | `vocab_size`       | preset's        | generator: number of distinct words                                     |
    | `sentence_length`  | preset's        | generator: inclusive `(min, max)` words per reference                   |
    | `num_tasks`        | `None`          | generator: a fixed set of this many distinct references instead of an endless stream (an error if the settings make fewer) |
    | `task_seed`        | `0`             | seed of `num_tasks` sets and of the language model's training sentences |
    | `num_levels`       | `0`             | `N > 0`: resets draw among N fixed levels (task and source); 0: unlimited |
    | `start_level`      | `0`             | the first level of `num_levels`                                         |
    | `max_length`       | from the tasks  | L: longest text; default: longest task + most corruptions + 2; `n` may not exceed `MAX_ACTIONS` (10,000,000) |
    | `num_distractors`  | preset's        | reference observed: distractor candidates per episode; K = most distinct reference units + this |
    | `edit_vocabulary`  | `None`          | reference hidden: the candidate words before the source's; `None`: the words fixes need (training split), `N`: N words, or a list; K = its size + L |
    | `step_penalty`     | `0.0`           | subtracted from every reward                                            |
    | `invalid_penalty`  | `0.0`           | subtracted from the reward of an invalid action                         |
    | `observation_mode` | `"ids"`         | `"ids"` or `"text"`                                                     |
    | `render_mode`      | `None`          | `"ansi"`, `"human"` or `"rgb_array"` (frames of at most 32 MB)          |
    | `reward_engine`    | `"incremental"` | `"library"` scores with the libraries themselves (slow; for checking)   |
    | `lm`               | `None`          | an `NGramLM` or a saved model's path, for `noise="lm"` and `"fluency"`  |
    | `lm_order`         | `3`             | order of the language model trained when `lm` is `None` (1 to 10)       |

    ## Vectorized environment

    The environment is pure Python and pickles, so ``gym.make_vec("textedit_env:TextEdit-v0",
    num_envs=n, vectorization_mode="async")`` and stable-baselines3's ``SubprocVecEnv`` run it
    in worker processes (the ``textedit_env:`` prefix imports the package there).

    ## Version History

    * v0: initial release. Later releases of v0 refuse invalid input that earlier ones accepted
      (wrong types, negative reward weights, sizes beyond the limits, a step after termination),
      and add options whose defaults keep every earlier meaning (several references, the hidden
      reference, terminal rewards, corruption families, levels); the meaning of every valid
      input is unchanged.

    ## Example

    >>> import gymnasium as gym
    >>> import textedit_env
    >>> env = gym.make("TextEdit-v0")
    >>> obs, info = env.reset(seed=0, options={"source": "the cat sees dog", "reference": "the cat sees a dog"})
    >>> action = env.unwrapped.encode_action("insert", 3, "a")
    >>> obs, reward, terminated, truncated, info = env.step(action)
    >>> info["text"], terminated, info["solved"]
    ('the cat sees a dog', True, np.True_)
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
        noise: str | None = None,
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
        observe_reference: bool | None = None,
        reward_timing: str = "step",
        families: Mapping[str, Any] | list[str] | None = None,
        edit_vocabulary: int | list[str] | None = None,
        num_levels: int = 0,
        start_level: int = 0,
    ):
        # The cheap checks first, so that a bad argument fails before any data is read.
        settings = get_preset(preset)
        self.unit = check_unit_kind(unit)
        self.split = check_split(split)
        self.weights = parse_reward(reward, extra_names=("fluency",))
        if tokenize is not None and not isinstance(tokenize, str):
            raise ValueError(f"tokenize must be a sacrebleu tokenizer name or None, got {tokenize!r}")
        self.tokenize = tokenize if tokenize is not None else ("13a" if unit == "word" else "char")
        self.use_stemmer = check_bool("use_stemmer", use_stemmer)
        self.noise = check_choice("noise", settings.noise if noise is None else noise, NOISE_MODELS)
        self.corruptions = check_range("corruptions", settings.corruptions if corruptions is None else corruptions)
        self.step_penalty = check_penalty("step_penalty", step_penalty)
        self.invalid_penalty = check_penalty("invalid_penalty", invalid_penalty)
        if not math.isfinite(sum(self.weights.values()) + self.step_penalty + self.invalid_penalty):
            raise ValueError("reward weights, step_penalty and invalid_penalty must have a finite sum")
        self.observation_mode = check_choice("observation_mode", observation_mode, OBSERVATION_MODES)
        self.reward_engine = check_choice("reward_engine", reward_engine, ENGINES)
        if render_mode is not None:
            check_choice("render_mode", render_mode, tuple(self.metadata["render_modes"]))
        self.render_mode = render_mode
        task_seed = check_int("task_seed", task_seed, minimum=0)
        if max_length is not None:
            check_int("max_length", max_length)
        distractors = settings.num_distractors if num_distractors is None else num_distractors
        self.num_distractors = check_int("num_distractors", distractors, minimum=0)
        self.observe_reference = check_bool(
            "observe_reference", settings.observe_reference if observe_reference is None else observe_reference
        )
        self.reward_timing = check_choice("reward_timing", reward_timing, REWARD_TIMINGS)
        self.num_levels = check_int("num_levels", num_levels, minimum=0)
        self.start_level = check_int("start_level", start_level, minimum=0)
        if edit_vocabulary is not None and self.observe_reference:
            raise ValueError("edit_vocabulary applies with the reference hidden (observe_reference=False)")
        if families is not None and self.noise != "families":
            raise ValueError(f"families apply to noise='families', not noise={self.noise!r}")
        family_spec = settings.families if families is None else families
        if self.noise == "families" and (family_spec is None or self.unit != "word"):
            raise ValueError("noise='families' corrupts words: it needs unit='word' and families={name: weight, ...}")

        self.task_set = build_task_set(
            settings, dataset, self.split, self.unit, vocab_size, sentence_length, num_tasks, task_seed
        )
        frequency = training_frequency(self.task_set)
        ranked = [word for word, _ in frequency.most_common()]
        self.families = build_families(family_spec, ranked) if self.noise == "families" else {}
        if self.observe_reference:
            self.edit_words = []
        else:
            spec = settings.edit_vocabulary if edit_vocabulary is None else edit_vocabulary
            self.edit_words = build_edit_vocabulary(
                spec, self.task_set, self.noise, self.families, self.unit, frequency
            )
        self._edit_set = frozenset(self.edit_words)
        self.vocabulary = Vocabulary(self._vocabulary_units())
        # Built once: a reset with the reference hidden only adds the source's own words to them.
        self._edit_slot = {word: k for k, word in enumerate(self.edit_words)}
        self._edit_ids = self.vocabulary.encode(self.edit_words, len(self.edit_words))
        most_added = self.corruptions[1] if self.noise != "empty" else 0
        self.max_length = self._max_length(max_length, self.task_set.max_units + most_added + 2)
        if self.observe_reference:
            self.num_candidates = self.task_set.max_unique + self.num_distractors
        else:
            self.num_candidates = len(self.edit_words) + self.max_length  # the source adds at most L words
        self.codec = ActionCodec(self.max_length, self.num_candidates)

        needs_lm = self.noise == "lm" or "fluency" in self.weights
        self.lm = language_model(lm, lm_order, needs_lm, self.task_set.training_references)
        self._sampler = LanguageModelSampler(self.lm) if noise == "lm" else UniformSampler(self.task_set.vocabulary)
        self._new_scorer = scorer_builder(
            self.weights,
            unit=self.unit,
            tokenize=self.tokenize,
            use_stemmer=self.use_stemmer,
            engine=self.reward_engine,
            extra={"fluency": self.lm.scorer} if self.lm is not None else None,
        )
        self._shown = "reference" if self.observe_reference else "source"  # the text beside the current one
        self.action_space = spaces.Discrete(self.codec.n)
        self.observation_space = self._observation_space()
        self._arrays = ObservationBuffer(self.max_length, self.num_candidates, self._shown)
        # Four lines (reference, text, marked edits, status); marks can double a line's length.
        longest_line = 11 + 2 * self.max_length * (self._longest_unit() + 3)
        self._frames = FrameRenderer(columns=100, rows=4 * -(-longest_line // 100))
        if render_mode == "rgb_array" and self._frames.bytes > MAX_FRAME_BYTES:
            raise ValueError(
                f"render_mode='rgb_array' would draw {self._frames.bytes / 2**20:,.0f} MB frames for max_length="
                f"{self.max_length}: at most {MAX_FRAME_BYTES >> 20} MB (render_mode='ansi' has no such limit)"
            )
        self._last: tuple[int, float, bool] | None = None  # (action, reward, valid) of the last step
        self._ended = True  # no episode yet, or it terminated: step() needs a reset() first
        self.resets = 0
        """resets so far: a policy that remembers its episode sees from it that a new one began"""

    # ----------------------------------------------------------------- construction
    def _vocabulary_units(self) -> list[str]:
        """The task set's units, the words the families can write in their place, the edit vocabulary."""
        units = list(self.task_set.vocabulary)
        for _, family in self.families.values():
            units += [variant for word in self.task_set.vocabulary for variant in family.variants(word)]
        return units + self.edit_words

    def _max_length(self, requested: int | None, needed: int) -> int:
        if requested is None:
            return needed
        if requested < self.task_set.max_units:
            raise ValueError(
                f"max_length={requested} is shorter than the longest task ({self.task_set.max_units} units)"
            )
        return requested

    def _longest_unit(self) -> int:
        return max(map(len, self.vocabulary.itos))

    def _observation_space(self) -> spaces.Space:
        L, K, V = self.max_length, self.num_candidates, len(self.vocabulary)
        if self.observation_mode == "text":
            charset = frozenset(ch for unit in self.vocabulary.itos[2:] for ch in unit) | {" "}
            length = L * (self._longest_unit() + 1)
            return spaces.Dict({k: spaces.Text(length, min_length=0, charset=charset) for k in ("text", self._shown)})

        def ids(n: int) -> spaces.Box:
            return spaces.Box(0, V - 1, shape=(n,), dtype=np.int64)

        slots = spaces.MultiDiscrete(np.full(L, K + 2, dtype=np.int64))
        return spaces.Dict(
            {
                "text": ids(L),
                self._shown: ids(L),
                "candidates": ids(K),
                "text_slots": slots,
                f"{self._shown}_slots": slots,
                "lengths": spaces.MultiDiscrete(np.array([L + 1, L + 1], dtype=np.int64)),
            }
        )

    # ----------------------------------------------------------------- public state
    @property
    def text_units(self) -> list[str]:
        """The current text as a list of units (a copy)."""
        return list(self._units)

    @property
    def source_units(self) -> list[str]:
        """The episode's starting text (a copy)."""
        return list(self._source)

    @property
    def reference_units(self) -> list[str]:
        """The (first) reference. Privileged when the reference is hidden."""
        return list(self._reference)

    @property
    def references(self) -> list[list[str]]:
        """Every reference of the task (copies). Privileged when the reference is hidden."""
        return [list(reference) for reference in self._references]

    @property
    def candidates(self) -> list[str]:
        """The words that insert and replace actions can write in this episode, by slot."""
        return list(self._candidates)

    @property
    def scorer(self) -> Scorer:
        """The metric's scorer of the current text (``preview`` and ``edit_scores`` score edits
        without applying them). Privileged when the reference is hidden."""
        return self._scorer

    @property
    def oracle_targets(self) -> list[list[str]]:
        """The texts the oracle heads for: the references, or with the reference hidden what the
        action space can write of each (:func:`textedit_env.oracle.projection` from the source; a
        reference itself when the candidates hold all its words). Privileged."""
        if self._targets is None:
            if self.observe_reference:
                self._targets = self.references
            else:
                self._targets = [projection(self._source, r, self._slot) for r in self._references]
        return [list(target) for target in self._targets]

    def outcome(self) -> dict[str, Any]:
        """``reference``, ``score`` and ``solved`` of the current text, as ``info`` shows them with the
        reference observed. Privileged: evaluation reads the outcome of episodes cut by the time limit."""
        return {
            "reference": self._reference_text,
            "score": np.float64(self._scorer.score),
            "solved": np.bool_(self._units in self._references),
        }

    # ----------------------------------------------------------------- episode
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(f"reset options must be a dict or None, got {options!r}")
        super().reset(seed=seed)
        if options:
            task, rng = self._task_from_options(options), self.np_random
        else:
            rng = self._task_generator()
            task = self.task_set.draw(rng)
        source = list(task.source) if task.source is not None else self._make_source(task.reference, rng)
        self._start(source, task.references)
        self._last, self._ended = None, False
        self.resets += 1
        return self._observation(), self._info()

    def _task_generator(self) -> np.random.Generator:
        """The generator a reset draws its task and source with: the level's own with ``num_levels``."""
        if not self.num_levels:
            return self.np_random
        return np.random.default_rng(self.start_level + int(self.np_random.integers(self.num_levels)))

    def _task_from_options(self, options: dict) -> Task:
        unknown = set(options) - {"source", "reference"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; expected 'source' and 'reference'")
        if "reference" not in options:
            raise ValueError("reset options need a 'reference' (and optionally a 'source')")
        given = options["reference"]
        given = [given] if isinstance(given, str) else given
        if not isinstance(given, (list, tuple)) or not given:
            raise ValueError(f"the reference must be a string or a non-empty list of strings, got {given!r}")
        references = [tuple(split_units(r, self.unit, what="reference")) for r in given]
        if not all(references):
            raise ValueError("the reference is empty")
        source = options.get("source")
        source = None if source is None else tuple(split_units(source, self.unit, what="source"))
        for name, units in (*(("reference", r) for r in references), ("source", source or ())):
            if len(units) > self.max_length:
                raise ValueError(f"the {name} has {len(units)} units, more than max_length={self.max_length}")
        distinct = len(set().union(*references))
        if self.observe_reference and distinct > self.num_candidates:
            raise ValueError(
                f"the reference has {distinct} distinct units but this environment has "
                f"num_candidates={self.num_candidates}; raise num_distractors or max_length accordingly"
            )
        return Task(source, references[0], tuple(references[1:]))

    def _make_source(self, reference: tuple[str, ...], rng: np.random.Generator) -> list[str]:
        if self.noise == "empty":
            return []
        low, high = self.corruptions
        count = int(rng.integers(low, high + 1))
        if self.noise == "families":
            return corrupt_with_families(reference, count, self.families, rng)
        return corrupt(reference, count, self._sampler, rng, self.max_length)

    def _start(self, source: list[str], references: tuple[tuple[str, ...], ...]) -> None:
        self._units, self._source = source, list(source)
        self._references = [list(reference) for reference in references]
        self._reference = self._references[0]
        if self.observe_reference:
            self._candidates = draw_visible_candidates(
                self._references,
                source,
                self.num_distractors,
                self.num_candidates,
                self.task_set.vocabulary,
                self.np_random,
            )
            self._slot = {w: k for k, w in enumerate(self._candidates)}
            candidate_ids = self.vocabulary.encode(self._candidates, self.num_candidates)
        else:
            added = source_additions(self._edit_set, source)
            first = len(self.edit_words)
            self._candidates = self.edit_words + added
            self._slot = {**self._edit_slot, **{w: first + k for k, w in enumerate(added)}}
            candidate_ids = np.zeros(self.num_candidates, dtype=np.int64)
            candidate_ids[:first] = self._edit_ids
            candidate_ids[first : first + len(added)] = self.vocabulary.encode(added, len(added))
        self._scorer = self._new_scorer(*self._references)
        self._start_score = self._scorer.set_hypothesis(source)
        shown = self._reference if self.observe_reference else self._source
        L, encode = self.max_length, self.vocabulary.encode
        self._arrays.start(
            {
                "text": encode(source, L),
                "text_slots": self._slots(source),
                self._shown: encode(shown, L),
                f"{self._shown}_slots": self._slots(shown),
                "candidates": candidate_ids,
                "lengths": (len(source), len(shown)),
            }
        )
        self._reference_text = join_units(self._reference, self.unit)
        self._shown_text = join_units(shown, self.unit)
        self._targets: list[list[str]] | None = None

    def step(self, action):
        if self._ended:
            raise RuntimeError("step() after the episode terminated (or before the first reset): call reset() first")
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
            after = self._scorer.apply(edit)
            if self.reward_timing == "step":
                reward += after - before
            edit.apply(self._units)
            self._arrays.edit(op, position, length, slot)
        solved = self._units in self._references
        terminated = op == "stop" or (valid and solved and self.observe_reference)
        if terminated and self.reward_timing == "terminal":
            reward += self._scorer.score - self._start_score
        self._last = (action, reward, valid)
        info = self._info(invalid_action=not valid, submitted=terminated)
        self._ended = terminated
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward), terminated, False, info

    def _check_action(self, action) -> int:
        if isinstance(action, (int, np.integer)) and not isinstance(action, bool) and 0 <= action < self.codec.n:
            return int(action)  # the common case, without numpy conversions
        # Integral values of any numeric type (2.0, np.array(3)) are accepted; strings, bools,
        # non-integral and non-finite numbers are not.
        array = np.asarray(action)
        item = array.item() if array.size == 1 and array.dtype.kind in "iuf" else None
        if item is None or (isinstance(item, float) and not item.is_integer()):
            raise ValueError(f"action {action!r} must be an integer action id in 0..{self.codec.n - 1}")
        if not 0 <= item < self.codec.n:
            raise ValueError(f"action {action!r} is outside the action space {self.action_space}")
        return int(item)

    # ----------------------------------------------------------------- observation
    def _slots(self, units: list[str]) -> np.ndarray:
        codes = np.zeros(self.max_length, dtype=np.int64)
        codes[: len(units)] = [SLOT_FIRST + self._slot[u] if u in self._slot else SLOT_OTHER for u in units]
        return codes

    def _observation(self):
        if self.observation_mode == "text":
            return {"text": join_units(self._units, self.unit), self._shown: self._shown_text}
        return self._arrays.observation()

    def _info(self, invalid_action: bool = False, submitted: bool = False) -> dict:
        # The same keys and types after reset and step (Minari's DataCollector(record_infos=True) requires it);
        # numpy scalars, not Python numbers, because TorchRL's info reader reads their ``dtype``.
        if self.observe_reference or submitted:
            outcome = self.outcome()
        else:  # the hidden reference shows nothing of itself before the agent submits its text
            outcome = {"reference": "", "score": np.float64(np.nan), "solved": np.bool_(False)}
        return {"text": join_units(self._units, self.unit), **outcome, "invalid_action": np.bool_(invalid_action)}

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

    def _check_started(self) -> None:
        if not self.resets:
            raise RuntimeError("the environment has no state before its first reset(): call reset() first")

    def action_masks(self) -> np.ndarray:
        """Boolean mask of the actions that change the text (and stop)."""
        self._check_started()
        return self.codec.mask(len(self._units), len(self._candidates), self._arrays.text_slots - SLOT_FIRST)

    def action_rewards(self) -> np.ndarray:
        """The reward each action would give in this state with ``reward_timing="step"`` (the metric's
        gain, less the penalties), without changing it. Privileged: it reads the reference."""
        self._check_started()
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
        self._check_started()
        if self.observe_reference:
            status = f"score {self._scorer.score:.4f}  last: {self._describe_last()}"
            text = render_text(self._units, self._reference, self.unit, status, colour=self.render_mode == "human")
        else:  # nothing of the hidden reference: an agent may read frames
            status = f"source: {self._shown_text}\nlast: {self._describe_last()}"
            text = render_text(self._units, None, self.unit, status)
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
