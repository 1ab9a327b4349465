"""The interactive ``play`` session, driven through injected input and output."""

from __future__ import annotations

import subprocess
import sys

import pytest

from textedit_env.play import INTERRUPTED, play

PAIR = {"source": "the cat sees dog", "reference": "the cat sees a dog"}


def session(lines: list[str], env_kwargs: dict | None = None, **pair) -> tuple[int, str]:
    """Exit code and output of a play session reading ``lines`` (then end of input)."""
    feed, out = iter(lines), []

    def read(prompt: str) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError
        if line == "^C":
            raise KeyboardInterrupt
        return line

    pair = pair or PAIR
    code = play(env_kwargs or {}, 0, pair.get("source"), pair.get("reference"), input=read, output=out.append)
    return code, "\n".join(out)


def test_a_session_solves_the_pair_and_starts_the_next_episode():
    code, out = session(["d 0", "i 0 the", "i 3 a", "i 3 a", "q"])
    assert code == 0
    assert "solved after 3 steps, return +0.5024, final score 1.0000" in out
    assert "next episode" in out
    episode_two = out.split("next episode")[1]
    assert "reward +0.5024" in episode_two  # the second episode started from the source again


def test_refused_moves_say_why():
    _, out = session(["x", "i 9 a", "d 4", "r 0 the", "i 3 zebra", "i two a", "d", "s"])
    assert "unknown command 'x'" in out
    assert "insert at 9 is not possible: insert positions are 0..4 for the current text (4 units)" in out
    assert "delete at 4 is not possible: delete positions are 0..3 for the current text (4 units)" in out
    assert "replace at 0 is not possible: unit 0 is already 'the'" in out
    assert "'zebra' is not among this episode's words" in out
    assert "position 'two' is not an integer" in out
    assert "'d' takes 1 argument(s)" in out
    assert "stopped after 1 steps" in out


def test_a_full_text_refuses_inserts():
    _, out = session(["i 0 a", "i 0 a", "i 0 a"], {"max_length": 6})
    assert "insert at 0 is not possible: the text is full (max_length=6)" in out


def test_the_text_is_plain_until_hints_are_asked_for():
    _, out = session(["hint", "hint"])
    before, during, after = out.split("hints ")
    assert "[+a]" not in before and "hint:" not in before
    assert "edits:     the cat sees [+a] dog" in during and "hint:      insert 3 a" in during
    assert during.startswith("on") and after.startswith("off")


def test_help_lists_the_commands_and_words():
    _, out = session(["h"])
    assert "r POS WORD" in out and "hint" in out and "words:" in out


def test_ctrl_c_exits_with_130_and_a_line():
    code, out = session(["d 0", "^C"])
    assert code == INTERRUPTED == 130
    assert out.endswith("interrupted")


def test_end_of_input_and_quit_exit_cleanly_on_drawn_tasks():
    assert session([], source=None, reference=None)[0] == 0
    assert session(["q"], source=None, reference=None)[0] == 0


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="go together"):
        play({}, 0, "a b", None)
    with pytest.raises(ValueError, match="num_tasks"):
        play({"num_tasks": 0}, 0, None, None, input=lambda prompt: "q")


def test_play_needs_no_torch():
    code = "import sys, textedit_env.play; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
