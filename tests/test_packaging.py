"""The environment without the extras: no torch, tqdm or Pillow needed, and a clear line when a
command needs one."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# Imports of these fail in the child, as on a machine with the bare `pip install textedit-env`.
WITHOUT_EXTRAS = "import sys; sys.modules.update(dict.fromkeys(['torch', 'tqdm', 'PIL'])); "


def python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS + code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_the_environment_runs_without_torch_tqdm_or_pillow():
    result = python(
        "import gymnasium as gym, textedit_env; env = gym.make('TextEdit-v0'); env.reset(seed=0); "
        "env.step(env.unwrapped.encode_action('stop')); "
        "from textedit_env.policies import greedy_policy, oracle_policy; print('ok')"
    )
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr


@pytest.mark.parametrize("argv, extra", [(["train"], "agents"), (["train", "--algo", "qlearning"], "agents")])
def test_training_without_torch_names_the_extra_in_one_line(argv, extra):
    result = python("import sys; from textedit_agents.cli import main; sys.exit(main(sys.argv[1:]))", *argv)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"pip install 'textedit-env[{extra}]'" in result.stderr
    assert "download.pytorch.org/whl/cpu" in result.stderr


def test_rgb_array_without_pillow_names_the_extra():
    result = python(
        "import gymnasium as gym, textedit_env; env = gym.make('TextEdit-v0', render_mode='rgb_array'); "
        "env.reset(seed=0); env.render()"
    )
    assert result.returncode == 1 and "pip install 'textedit-env[render]'" in result.stderr.splitlines()[-1]


def test_python_m_textedit_agents_is_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "textedit_agents", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0 and "usage: textedit" in result.stdout


def test_the_environment_package_imports_no_agent_code():
    """The arrows run one way: textedit_agents reads textedit_env, never the reverse."""
    for path in (ROOT / "textedit_env").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in ("textedit_agents", "agents") for n in names), path


def test_no_top_level_agents_package_is_installed():
    """``agents`` is the import name of unrelated PyPI packages: installing this project must not claim it."""
    result = subprocess.run([sys.executable, "-c", "import agents"], capture_output=True, text=True, cwd="/")
    assert result.returncode == 1 and "No module named 'agents'" in result.stderr


def test_one_version():
    from importlib.metadata import version

    import textedit_env

    assert version("textedit-env") == textedit_env.__version__
