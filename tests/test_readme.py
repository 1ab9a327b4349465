"""Every Python snippet of the README and of docs/ runs as a script, as a reader would paste it into a file.

A snippet whose first line is ``# needs: PACKAGE ...`` is skipped where a package is missing (the
RLlib one runs in RLlib's own environment, ``.ci/rllib``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPETS = {
    f"{page.stem}-{i}": code
    for page in PAGES
    for i, code in enumerate(re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M))
}


def test_the_pages_have_snippets_and_the_readme_is_a_front_page():
    assert len(SNIPPETS) >= 8 and any(name.startswith("README-") for name in SNIPPETS)
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_every_page_of_docs_is_linked_from_the_readme_and_every_relative_link_resolves():
    readme = (ROOT / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in readme, page.name
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), (page.name, target)


@pytest.mark.slow
@pytest.mark.parametrize("code", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_snippet_runs_as_a_script(code, tmp_path):
    needs = re.match(r"# needs: (.*)\n", code)
    for package in needs.group(1).split() if needs else ():
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"needs {package}")
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINARI_DATASETS_PATH": str(tmp_path / "minari")}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each row of the markdown table whose first line starts with ``header``."""
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.strip().startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_the_documented_arguments_are_the_docstrings():
    from textedit_env.env import TextEditEnv

    readme = table_rows((ROOT / "docs" / "environment.md").read_text(), "| argument | default | meaning |")
    docstring = table_rows(TextEditEnv.__doc__, "| Argument ")
    assert readme == docstring


def test_the_documented_presets_are_the_packages():
    from textedit_env.env import TextEditEnv
    from textedit_env.tasks import PRESETS, available_presets

    readme = (ROOT / "docs" / "tasks.md").read_text()
    rows = {row[0].split("`")[1]: row for row in table_rows(readme, "| preset | references |")}
    hidden = {row[0].split("`")[1]: row for row in table_rows(readme, "| hidden preset | references |")}
    assert set(rows) | set(hidden) == set(PRESETS)
    for name in hidden:
        assert not PRESETS[name].observe_reference
        low, high = PRESETS[name].corruptions
        if PRESETS[name].noise == "families":
            assert hidden[name][3] == (f"{low}" if low == high else f"{low}-{high}"), name
        if name in available_presets():
            env = TextEditEnv(preset=name)
            assert hidden[name][4] == f"{len(env.edit_words):,}", name
            assert hidden[name][5] == f"{env.num_candidates:,} / {env.action_space.n:,}", name
    for name, preset in ((name, PRESETS[name]) for name in rows):
        _, _, vocabulary, words, corruptions, distractors = rows[name]
        low, high = preset.corruptions
        assert corruptions == (f"{low}" if low == high else f"{low}-{high}"), name
        assert distractors == str(preset.num_distractors), name
        if preset.dataset is None:
            assert vocabulary == str(preset.vocab_size) and words == "{}-{}".format(*preset.sentence_length), name
