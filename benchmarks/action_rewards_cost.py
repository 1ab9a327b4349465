"""Cost of ``action_rewards()`` on long texts, against the cost of one incremental step.

    python benchmarks/action_rewards_cost.py [--timeout 600] [--out benchmarks/results/action_rewards_cost.md]

Cases: a 1,000-word reference (BLEU, chrF, ROUGE-L; word units) and a 7,800-character text
(BLEU, ROUGE-L; character units), each from ``benchmarks/data/docs_long.txt`` with every 40th unit of
the source dropped. Each case runs in its own process (peak memory is that process's) and is
cut off after ``--timeout`` seconds. Reported: the number of actions, the seconds and the peak
memory growth of one ``action_rewards()`` call, the mean seconds of one ``step`` (valid random
actions, on a copy), and their ratio ``action_rewards / (actions x step)``: the issue's bound is
a ratio of at most about 1.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data" / "docs_long.txt"
CASES = {
    "BLEU, 1,000 words": {"reward": "bleu", "unit": "word", "size": 1000},
    "chrF, 1,000 words": {"reward": "chrf", "unit": "word", "size": 1000},
    "ROUGE-L, 1,000 words": {"reward": "rougeL", "unit": "word", "size": 1000},
    "BLEU, 7,800 characters": {"reward": "bleu", "unit": "char", "size": 7800},
    "ROUGE-L, 7,800 characters": {"reward": "rougeL", "unit": "char", "size": 7800},
}
STEPS = 20


def _texts(unit: str, size: int) -> tuple[str, str]:
    """A reference of ``size`` units and its source (every 40th unit dropped)."""
    text = DATA.read_text(encoding="utf-8")
    units = text.split()[:size] if unit == "word" else list(" ".join(text.split())[:size].strip())
    source = [u for i, u in enumerate(units) if i % 40 != 39]
    join = " ".join if unit == "word" else "".join
    return join(source), join(units)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_case(name: str) -> dict:
    """Measure one case in this process."""
    import gymnasium as gym
    import numpy as np

    import textedit_env  # noqa: F401  (registers TextEdit-v0)

    spec = CASES[name]
    source, reference = _texts(spec["unit"], spec["size"])
    env = gym.make("TextEdit-v0", dataset=[(source, reference)], split="all", reward=spec["reward"], unit=spec["unit"])
    env.reset(seed=0)
    base = env.unwrapped
    # The step cost, on a copy so that the state action_rewards sees is the start state.
    probe, rng = copy.deepcopy(base), np.random.default_rng(0)
    step_seconds = []
    for _ in range(STEPS):
        action = int(rng.choice(np.flatnonzero(probe.action_masks()[1:])) + 1)  # never stop
        start = time.perf_counter()
        probe.step(action)
        step_seconds.append(time.perf_counter() - start)
    del probe
    before = _peak_mib()
    start = time.perf_counter()
    rewards = base.action_rewards()
    seconds = time.perf_counter() - start
    step = float(np.mean(step_seconds))
    return {
        "case": name,
        "actions": int(rewards.size),
        "valid": int(base.action_masks().sum()),
        "seconds": seconds,
        "peak_growth_mib": _peak_mib() - before,
        "step_ms": 1000 * step,
        "ratio": seconds / (rewards.size * step),
    }


def _row(result: dict) -> str:
    if "error" in result:
        return f"| {result['case']} | | {result['error']} | | | |"
    return (
        f"| {result['case']} | {result['actions']:,} | {result['seconds']:.2f} | {result['peak_growth_mib']:.0f} "
        f"| {result['step_ms']:.3f} | {result['ratio']:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a case is cut off")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)  # one case, in a child
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    rows = []
    for name in CASES:
        try:
            child = subprocess.run(
                [sys.executable, __file__, "--case", name], capture_output=True, text=True, timeout=args.timeout
            )
            result = json.loads(child.stdout) if child.returncode == 0 else {"case": name, "error": child.stderr[-200:]}
        except subprocess.TimeoutExpired:
            result = {"case": name, "error": f"cut off after {args.timeout:.0f} s"}
        rows.append(_row(result))
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            f"`python {' '.join(sys.argv)}` on {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}",
            "",
            "| case | actions | action_rewards s | peak memory growth MiB | one step ms | ratio |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
