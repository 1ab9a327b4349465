"""Interactive play: edit the text yourself, one command a line (``textedit play``).

Needs nothing but the environment (no torch). Input and output are injectable, so that a test
can drive a whole session with a list of lines::

    lines = iter(["i 3 a", "q"])
    play({}, seed=None, source="the cat sees dog", reference="the cat sees a dog",
         input=lambda prompt: next(lines), output=print)

Episodes follow one another until ``q`` or the end of input (exit code 0); Ctrl-C ends the
session with exit code 130. With an ``agent`` (any policy, e.g. a trained agent: ``textedit play
--agent RUN``), an empty line lets it take the next step, shown with the action it chose; the
other commands still work, so one can also step in. A refused command says why (the word is already there, the
positions the current text allows, a word that is not a candidate). The text is shown plain;
``hint`` toggles showing the remaining edits (a minimal alignment) and the oracle's next edit.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from textedit_env import ENV_ID
from textedit_env.metrics.base import join_units
from textedit_env.oracle import oracle_action
from textedit_env.policies import Policy
from textedit_env.render import marked_text

HELP = """commands:
  i POS WORD   insert WORD before unit POS (POS = length appends)
  d POS        delete unit POS
  r POS WORD   replace unit POS by WORD
  s            stop (end the episode)
  hint         show or hide the remaining edits and the oracle's next edit
  (empty)      with an agent: its next step
  h            this help
  q            quit
positions count from 0; WORD must be one of the episode's words"""

_OPS = {"i": "insert", "d": "delete", "r": "replace"}
_ARITY = {"s": 0, "d": 1, "i": 2, "r": 2}
INTERRUPTED = 130  # the shell's exit code for Ctrl-C


def play(
    env_kwargs: dict,
    seed: int | None,
    source: str | None,
    reference: str | None,
    input: Callable[[str], str] = input,
    output: Callable[[str], None] = print,
    agent: Policy | None = None,
) -> int:
    """Play episodes of ``TextEdit-v0(**env_kwargs)`` from commands read with ``input``; the
    exit code (0, or 130 on Ctrl-C). ``source`` and ``reference`` go together: the pair every
    episode starts from (else the task set draws one). Bad arguments raise ``ValueError`` (an
    unknown ``env_kwargs`` name: ``TypeError``). With ``agent``, an empty line is its step."""
    if (source is None) != (reference is None):
        raise ValueError("source and reference go together: pass both or neither")
    options = None if reference is None else {"source": source, "reference": reference}
    env = gym.make(ENV_ID, **env_kwargs)
    session = _Session(env, output, agent)
    try:
        session.new_episode(seed, options)
        while True:
            try:
                line = input("> ")
            except EOFError:
                output("")
                return 0
            if not session.command(line):
                return 0
            if session.ended:
                session.new_episode(None, options)
    except KeyboardInterrupt:
        output("\ninterrupted")
        return INTERRUPTED
    finally:
        env.close()


class _Session:
    """The state of a play session: the environment, the hint switch and the episode's tally."""

    def __init__(self, env: gym.Env, output: Callable[[str], None], agent: Policy | None = None):
        self.env, self.output, self.agent = env, output, agent
        self.hints, self.ended = False, False
        self.steps, self.total = 0, 0.0
        self.observation, self.info = None, {}

    def new_episode(self, seed: int | None, options: dict | None) -> None:
        self.observation, self.info = self.env.reset(seed=seed, options=options)
        self.steps, self.total, self.ended = 0, 0.0, False
        self.show()
        helps = "Enter: the agent's next step, h for help" if self.agent else "h for help, hint for hints"
        self.output(f"words: {' '.join(self.env.unwrapped.candidates)}    ({helps})")

    def show(self) -> None:
        base = self.env.unwrapped
        text, reference = base.text_units, base.reference_units
        self.output(f"reference: {join_units(reference, base.unit)}")
        self.output(f"text:      {join_units(text, base.unit)}")
        if self.hints:
            self.output(f"edits:     {marked_text(text, reference, base.unit)}")
            op, position, word = base.decode_action(oracle_action(self.env))
            self.output(f"hint:      {op}" + ("" if op == "stop" else f" {position}") + (f" {word}" if word else ""))

    def command(self, line: str) -> bool:
        """Carry out one command line; False to quit."""
        try:
            action = parse_command(line, self.env)
        except ValueError as err:
            self.output(f"?? {err}")
            return True
        if action == "quit":
            return False
        if action == "help":
            self.output(HELP)
            self.output(f"words: {' '.join(self.env.unwrapped.candidates)}")
        elif action == "hint":
            self.hints = not self.hints
            self.output(f"hints {'on' if self.hints else 'off'}")
            if self.hints:
                self.show()
        elif action is not None:
            self.step(action)
        elif self.agent is not None:
            action = self.agent(self.env, self.observation, self.info)
            op, position, word = self.env.unwrapped.decode_action(action)
            self.output(f"agent: {op}" + ("" if op == "stop" else f" {position}") + (f" {word}" if word else ""))
            self.step(action)
        return True

    def step(self, action: int) -> None:
        self.observation, reward, terminated, truncated, info = self.env.step(action)
        self.info = info
        self.steps, self.total = self.steps + 1, self.total + reward
        self.show()
        self.output(f"reward {reward:+.4f}  score {info['score']:.4f}  return {self.total:+.4f}")
        if terminated or truncated:
            outcome = "solved" if info["solved"] else ("stopped" if terminated else "out of steps")
            final = f"return {self.total:+.4f}, final score {info['score']:.4f}"
            self.output(f"{outcome} after {self.steps} steps, {final}")
            self.output("next episode (q to quit)")
            self.ended = True


def parse_command(line: str, env: gym.Env) -> int | str | None:
    """An action id, "quit", "help", "hint", or None (an empty line); ``ValueError`` says why a
    command is refused."""
    parts = line.split()
    if not parts:
        return None
    op, rest = parts[0].lower(), parts[1:]
    if op in ("h", "help", "?"):
        return "help"
    if op in ("q", "quit", "exit"):
        return "quit"
    if op == "hint":
        return "hint"
    if op not in _ARITY:
        raise ValueError(f"unknown command {parts[0]!r}; h for help")
    if len(rest) != _ARITY[op]:
        raise ValueError(f"{op!r} takes {_ARITY[op]} argument(s); h for help")
    base = env.unwrapped
    if op == "s":
        return base.encode_action("stop")
    try:
        position = int(rest[0])
    except ValueError:
        raise ValueError(f"position {rest[0]!r} is not an integer") from None
    name, word = _OPS[op], rest[1] if op != "d" else None
    reason = refusal(base, name, position, word)
    if reason:
        raise ValueError(f"{name} at {position} is not possible: {reason}")
    return base.encode_action(name, position, word)


def refusal(base, op: str, position: int, word: str | None) -> str | None:
    """Why ``op`` at ``position`` (writing ``word``) cannot be done in the current state, or None."""
    text, length = base.text_units, len(base.text_units)
    if op == "insert" and length >= base.max_length:
        return f"the text is full (max_length={base.max_length})"
    last = length if op == "insert" else length - 1
    if not 0 <= position <= last:
        what = "insert positions are" if op == "insert" else f"{op} positions are"
        return f"{what} 0..{last} for the current text ({length} units)" if last >= 0 else "the text is empty"
    if word is not None and word not in base.candidates:
        return f"{word!r} is not among this episode's words: {' '.join(base.candidates)}"
    if op == "replace" and text[position] == word:
        return f"unit {position} is already {word!r}"
    return None
