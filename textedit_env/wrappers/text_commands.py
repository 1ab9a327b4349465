"""``TextCommands``: ``TextEdit-v0`` (word units) as a text game, a prompt in and a command out.

The observation is a prompt: the reference (with the reference hidden, the source in its place),
the current text with numbered gaps, the episode's candidate words and the command grammar. The
action is a command string::

    insert P WORD     WORD becomes word P of the text (0 <= P <= length)
    delete P          remove word P (0 <= P < length)
    replace P WORD    word P becomes WORD (0 <= P < length, WORD different from word P)
    stop              end the episode

Commands ignore case and extra spaces (``"  Insert 2   dog "``); a WORD matches a candidate
exactly, else its only case-insensitive match. A command that does not parse, or that the state
does not allow (a position past the end, a word that is no candidate, replacing a word by
itself, inserting into a full text), is played as an action the environment treats as invalid:
the text does not change, the environment's ``invalid_penalty`` applies and
``info["invalid_action"]`` is True. ``info["error"]`` says what was wrong ("" when nothing was,
and at reset). The wrapper never raises on an action, whatever it is.

The three module functions are what an LLM framework needs: :func:`format_prompt` as its
observation-to-text, :func:`parse_command` as its action parser and :func:`command_for` to write
an action id (an oracle's edit) as a command.

>>> import gymnasium as gym
>>> import textedit_env
>>> from textedit_env.wrappers import TextCommands
>>> env = TextCommands(gym.make("TextEdit-v0"))
>>> prompt, info = env.reset(seed=0, options={"source": "the cat sees dog", "reference": "the cat sees a dog"})
>>> print(prompt.splitlines()[1])
text: [0] the [1] cat [2] sees [3] dog [4]
>>> prompt, reward, terminated, truncated, info = env.step("delete 9")
>>> bool(info["invalid_action"]), info["error"], info["text"]
(True, 'delete position 9 is outside 0..3 (the text has 4 words)', 'the cat sees dog')
>>> prompt, reward, terminated, truncated, info = env.step(" INSERT 3  a")
>>> info["text"], bool(info["solved"]), info["error"]
('the cat sees a dog', True, '')
"""

from __future__ import annotations

import re
import string
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textedit_env.actions import OPS

COMMANDS = OPS
"""the command words: the action ops"""
GRAMMAR = (
    "reply with one command: insert P WORD | delete P | replace P WORD | stop "
    "(insert puts WORD at [P] , delete and replace change the word after [P] , WORD is one of the words)"
)
HEADERS = ("reference:", "source:", "text:", "words:")
_USAGE = "expected insert P WORD, delete P, replace P WORD or stop"
_NUMBER = re.compile(r"[0-9]{1,6}")  # ASCII digits only; six bound int()'s work on absurd inputs


def position_marker(position: int) -> str:
    """How the prompt's text line shows gap ``position``: ``[3]``, distinct from a word ``3``."""
    return f"[{position}]"


def format_prompt(env: gym.Env) -> str:
    """The prompt of the environment's current state, four lines::

    reference: the cat sees a dog
    text: [0] the [1] cat [2] sees [3] dog [4]
    words: a cat dog sees the
    reply with one command: ...

    With the reference hidden, the first line is the source: ``source: the cat sees dog``.
    """
    base = env.unwrapped
    text = base.text_units
    numbered = " ".join(f"{position_marker(p)} {w}" for p, w in enumerate(text))
    numbered = f"{numbered} {position_marker(len(text))}".lstrip()
    shown = ("reference", base.reference_units) if base.observe_reference else ("source", base.source_units)
    return "\n".join(
        (
            f"{shown[0]}: {' '.join(shown[1])}",
            f"text: {numbered}",
            f"words: {' '.join(base.candidates)}",
            GRAMMAR,
        )
    )


def parse_command(text: Any, env: gym.Env) -> tuple[int | None, str]:
    """``(action id, "")`` for a command that is valid in the environment's state, else
    ``(None, why)``; never raises."""
    if not isinstance(text, str):
        return None, f"a command must be a string, got {type(text).__name__}"
    parts = text.split()
    if not parts:
        return None, f"empty command; {_USAGE}"
    op, args = parts[0].lower(), parts[1:]
    if op not in COMMANDS:
        return None, f"unknown command {_clip(parts[0])}; {_USAGE}"
    arity = {"stop": 0, "delete": 1}.get(op, 2)
    if len(args) != arity:
        usage = {"stop": "stop", "delete": "delete P"}.get(op, f"{op} P WORD")
        return None, f"{op} takes {arity} argument{'s' * (arity != 1)} ({usage}), got {len(args)}"
    base = env.unwrapped
    if op == "stop":
        return base.encode_action("stop"), ""
    if not _NUMBER.fullmatch(args[0]):
        return None, f"position {_clip(args[0])} is not a number"
    position, length = int(args[0]), len(base.text_units)
    last = length if op == "insert" else length - 1
    if last < 0:
        return None, f"the text is empty: there is no word to {op}"
    if position > last:
        return None, f"{op} position {position} is outside 0..{last} (the text has {length} words)"
    if op == "delete":
        return base.encode_action("delete", position), ""
    if op == "insert" and length >= base.max_length:
        return None, f"the text is full ({base.max_length} words): nothing can be inserted"
    word = _candidate(args[1], base.candidates)
    if word is None:
        return None, f"{_clip(args[1])} is not one of the words: {' '.join(base.candidates)}"
    if op == "replace" and base.text_units[position] == word:
        return None, f"replace {position} {word} changes nothing: word {position} already is {word!r}"
    return base.encode_action(op, position, word), ""


def command_for(env: gym.Env, action: int) -> str:
    """The command of an action id (the inverse of :func:`parse_command`); ``ValueError`` for an
    id outside the space or one that writes an empty candidate slot."""
    op, position, word = env.unwrapped.decode_action(action)
    if op == "stop":
        return "stop"
    if op == "delete":
        return f"delete {position}"
    if word is None:
        raise ValueError(f"action {action} writes an empty candidate slot: no command says that")
    return f"{op} {position} {word}"


def invalid_action(env: gym.Env) -> int:
    """An action id that the environment treats as invalid in its current state. One always
    exists: deleting past the end of a text shorter than ``max_length``, else inserting into it."""
    return int(np.flatnonzero(~env.unwrapped.action_masks())[0])


def _candidate(word: str, candidates: list[str]) -> str | None:
    """``word`` if it is a candidate, else its only case-insensitive match, else None."""
    if word in candidates:
        return word
    matches = [c for c in candidates if c.casefold() == word.casefold()]
    return matches[0] if len(matches) == 1 else None


def _clip(part: str, limit: int = 40) -> str:
    """A piece of a command, quoted and shortened for an error message."""
    return repr(part if len(part) <= limit else part[:limit] + "...")


class TextCommands(gym.Wrapper):
    """Prompts as observations and command strings as actions (see the module docstring)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        base = env.unwrapped
        if base.unit != "word":
            raise ValueError(f"TextCommands needs word units, got unit={base.unit!r}")
        words = base.vocabulary.itos[2:]
        longest, L, K = max(map(len, words)), base.max_length, base.num_candidates
        word_chars = {ch for w in words for ch in w}
        template = set(GRAMMAR) | {ch for h in HEADERS for ch in h} | set(string.digits) | set("[] \n")
        # Each line at its longest, every word and marker with a space: L reference words; L words and
        # L + 1 markers; K candidates; the grammar. 32 covers the headers (24 characters) and newlines.
        marker = len(position_marker(L)) + 1
        self.observation_space = spaces.Text(
            max_length=32 + 2 * L * (longest + 1) + (L + 1) * marker + K * (longest + 1) + len(GRAMMAR),
            min_length=0,
            charset=frozenset(word_chars | template),
        )
        command_chars = word_chars | set("".join(COMMANDS)) | set(string.digits) | {" "}
        self.action_space = spaces.Text(
            max_length=len("replace") + len(str(L)) + longest + 2, min_length=1, charset=frozenset(command_chars)
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        _, info = self.env.reset(seed=seed, options=options)
        info["error"] = ""
        return format_prompt(self.env), info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        action_id, error = parse_command(action, self.env)
        played = invalid_action(self.env) if action_id is None else action_id
        _, reward, terminated, truncated, info = self.env.step(played)
        info["error"] = error
        return format_prompt(self.env), reward, terminated, truncated, info
