"""Throughput of the incremental rewards, side by side with the libraries, in one run.

    python benchmarks/throughput.py [--steps 5000] [--out benchmarks/results/throughput.md]

Measures, as ratios against a baseline timed in the same process:
1. the per-step reward cost of each metric (incremental scorer vs the library call) at
   10, 20 and 50 words, over the same random edit sequences;
2. ``gym.make("TextEdit-v0")`` steps per second with random valid actions on 20-word
   sentences, against ``gym.make("CartPole-v1")``, against the same environment with
   ``reward_engine="library"``, and with the reference hidden (``observe_reference=False``) and
   edit vocabularies of 1,000 and 10,000 words;
3. the batch action-scoring call (``action_rewards``) per candidate against scoring each
   candidate with the library.
Writes a Markdown report with the command and the machine described.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import gymnasium as gym
import numpy as np
import sacrebleu
from rouge_score import rouge_scorer

import textedit_env  # noqa: F401  (registers TextEdit-v0)
from textedit_env.metrics import Edit, library_score, make_scorer
from textedit_env.tasks import read_dataset

LENGTHS = (10, 20, 50)
_ROUGE = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
# label -> (reward spec, the library call a researcher would make on the strings). ROUGE-1/2/L
# are timed together, as rouge-score scores all three in one call.
METRICS = {
    "BLEU": ("bleu", lambda hyp, ref: sacrebleu.sentence_bleu(hyp, [ref]).score),
    "ROUGE-1/2/L": ({"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}, lambda hyp, ref: _ROUGE.score(ref, hyp)),
    "chrF": ("chrf", lambda hyp, ref: sacrebleu.sentence_chrf(hyp, [ref]).score),
}
REPEATS = 5  # best of, the sides taking turns, so that a burst of load on the machine hits both
ROUNDS = 9  # environment rounds (median)
OBSERVED = "TextEdit-v0 (incremental BLEU)"


def english_words() -> list[str]:
    tasks, _ = read_dataset("english", "word")
    return [w for t in tasks for w in t.reference]


def references(words: list[str], length: int, count: int, rng: np.random.Generator) -> list[list[str]]:
    starts = rng.integers(0, len(words) - length, size=count)
    return [words[s : s + length] for s in starts]


def random_edits(reference: list[str], pool: list[str], steps: int, rng: np.random.Generator) -> list[Edit]:
    """A random walk of edits writing words of ``pool``, keeping the text near the reference's length."""
    text, edits = list(reference), []
    for _ in range(steps):
        n = len(text)
        op = (
            rng.choice(["insert", "delete", "replace"])
            if 0 < n < 2 * len(reference)
            else ("insert" if n == 0 else "delete")
        )
        position = int(rng.integers(n + 1 if op == "insert" else n))
        edit = Edit(op, position, None if op == "delete" else pool[rng.integers(len(pool))])
        edit.apply(text)
        edits.append(edit)
    return edits


def time_incremental(spec, episodes) -> float:
    """Seconds per ``Scorer.apply`` over the (reference, edits) episodes."""
    total, count = 0.0, 0
    for reference, edits in episodes:
        scorer = make_scorer(spec, reference)
        scorer.set_hypothesis(reference)
        start = time.perf_counter()
        for edit in edits:
            scorer.apply(edit)
        total += time.perf_counter() - start
        count += len(edits)
    return total / count


def time_library(call, episodes) -> float:
    """Seconds per library call on the texts the same edits produce."""
    total, count = 0.0, 0
    for reference, edits in episodes:
        text, ref, hyps = list(reference), " ".join(reference), []
        for edit in edits:
            edit.apply(text)
            hyps.append(" ".join(text))
        start = time.perf_counter()
        for hyp in hyps:
            call(hyp, ref)
        total += time.perf_counter() - start
        count += len(hyps)
    return total / count


def metric_costs(words: list[str], steps: int, rng: np.random.Generator) -> list[tuple]:
    rows = []
    for length in LENGTHS:
        refs = references(words, length, 20, rng)
        # Edits write the reference's own words half of the time, as an agent's candidates do.
        pools = [r + [words[i] for i in rng.integers(len(words), size=length)] for r in refs]
        episodes = [(r, random_edits(r, pool, steps // 20, rng)) for r, pool in zip(refs, pools)]
        for label, (spec, call) in METRICS.items():
            timings = [(time_incremental(spec, episodes), time_library(call, episodes)) for _ in range(REPEATS)]
            incremental, library = min(t[0] for t in timings), min(t[1] for t in timings)
            rows.append((label, length, incremental * 1e6, library * 1e6, library / incremental))
    return rows


def uniform_valid_action(mask: np.ndarray, rng: np.random.Generator) -> int:
    """A valid action drawn uniformly, by rejection against ``mask``: unlike indexing
    ``np.flatnonzero(mask)`` (a 4 MB array with 491,201 actions), the driver's own memory traffic stays
    the same for every action space, so it does not slow the steps it times by evicting their caches."""
    while True:
        action = int(rng.integers(mask.size))
        if mask[action]:
            return action


def steps_per_second(env: gym.Env, steps: int, rng: np.random.Generator, masked: bool) -> tuple[float, float]:
    """Environment steps per second, timing ``step`` and ``reset`` only, and the microseconds of each
    ``action_masks()`` call that drew the action (NaN unmasked): an agent that masks pays both."""
    elapsed = masking = 0.0
    for _ in range(steps):
        if masked:
            start = time.perf_counter()
            mask = env.unwrapped.action_masks()
            masking += time.perf_counter() - start
            mask[0] = False  # no stop: time edits
            action = uniform_valid_action(mask, rng)
        else:
            action = int(rng.integers(env.action_space.n))
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
        elapsed += time.perf_counter() - start
    return steps / elapsed, (1e6 * masking / steps if masked else float("nan"))


def env_rates(
    words: list[str], steps: int, rng: np.random.Generator
) -> dict[str, tuple[float, float, float, float, int]]:
    """(steps/s, ratio to CartPole-v1, ratio to the observed TextEdit-v0, us per action mask, actions) of
    each environment: medians over ROUNDS rounds in which the environments take turns, the ratios taken
    within each round (a burst of load on the machine slows a whole round, not one side of a ratio)."""
    data = [" ".join(r) for r in references(words, 20, 500, rng)]
    distinct = list(dict.fromkeys(words))
    envs = {  # name -> (environment, masked actions, share of the steps)
        "CartPole-v1": (gym.make("CartPole-v1"), False, 1),
        OBSERVED: (gym.make("TextEdit-v0", dataset=data, split="all"), True, 1),
        **{
            f"TextEdit-v0, reference hidden, {size:,}-word edit vocabulary": (
                gym.make("TextEdit-v0", dataset=data, split="all", observe_reference=False, edit_vocabulary=vocabulary),
                True,
                1,
            )
            for size, vocabulary in ((1_000, distinct[:1_000]), (10_000, edit_vocabulary(distinct, 10_000)))
        },
        "TextEdit-v0 (library BLEU)": (
            gym.make("TextEdit-v0", dataset=data, split="all", reward_engine="library"),
            True,
            4,
        ),
    }
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    for env, _, _ in envs.values():
        env.reset(seed=0)
    for _ in range(ROUNDS):
        for name, (env, masked, share) in envs.items():
            timings[name].append(steps_per_second(env, steps // (ROUNDS * share), rng, masked))
    cart = np.array(timings["CartPole-v1"])[:, 0]
    observed = np.array(timings[OBSERVED])[:, 0]
    results = {}
    for name, t in timings.items():
        rates, masks = np.array(t).T
        results[name] = (
            float(np.median(rates)),
            float(np.median(rates / cart)),
            float(np.median(rates / observed)),
            float(np.median(masks)),
            int(envs[name][0].action_space.n),
        )
    return results


def edit_vocabulary(words: list[str], size: int) -> list[str]:
    """``size`` words: the bundled English set's distinct words, then made-up ones (``w00001``...) to fill it."""
    return (words + [f"w{i:05d}" for i in range(size)])[:size]


def batch_scoring(words: list[str], states: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """(us per candidate with action_rewards, us per candidate with the library, candidates per state)."""
    data = [" ".join(r) for r in references(words, 20, 200, rng)]
    env = gym.make("TextEdit-v0", dataset=data, split="all")
    batch = library = 0.0
    candidates = 0
    for seed in range(states):
        env.reset(seed=seed)
        base = env.unwrapped
        start = time.perf_counter()
        base.action_rewards()
        batch += time.perf_counter() - start
        valid = np.flatnonzero(base.action_masks()[1:]) + 1
        candidates += len(valid)
        text, reference = base.text_units, base.reference_units
        start = time.perf_counter()
        for action in valid:
            op, position, word = base.decode_action(int(action))
            edited = list(text)
            Edit(op, position, word).apply(edited)
            library_score("bleu", edited, reference)
        library += time.perf_counter() - start
    return batch / candidates * 1e6, library / candidates * 1e6, candidates / states


def machine_description() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    versions = ", ".join(f"{p} {version(p)}" for p in ("gymnasium", "numpy", "sacrebleu", "rouge-score"))
    return f"{cpu}; Python {platform.python_version()} on {platform.system()} {platform.machine()}; {versions}"


def report(args, rows, rates, batch) -> str:
    lines = [
        "# Throughput: incremental rewards against the libraries",
        "",
        f"Command: `python benchmarks/throughput.py --steps {args.steps} --seed {args.seed}`",
        f"Machine: {machine_description()}",
        "",
        "Ratios compare two timings taken side by side in the same process; absolute times vary",
        "from run to run on a shared machine, the ratios much less.",
        "",
        "## Per-step reward cost (random edits of bundled English text, half writing reference words)",
        "",
        "Library: `sacrebleu.sentence_bleu(hyp, [ref])`, one `RougeScorer(['rouge1', 'rouge2', 'rougeL'])`",
        "call, `sacrebleu.sentence_chrf(hyp, [ref])`; incremental: `Scorer.apply` of the same edit.",
        "",
        "| metric | words | incremental (us/step) | library (us/step) | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {m} | {n} | {inc:.1f} | {lib:.1f} | {ratio:.1f}x |" for m, n, inc, lib, ratio in rows]
    lines += [
        "",
        "## Environment steps per second (20-word sentences, random valid actions, `gym.make` wrappers included)",
        "",
        f"Medians over {ROUNDS} rounds in which the environments take turns; the ratio to CartPole-v1 is",
        "taken within each round, then the median. The hidden-reference rows write words of an edit vocabulary of",
        "1,000 words (the bundled English set's first distinct words) or 10,000 (all of its distinct words, then",
        "made-up ones): the candidates, the observation's candidate array and the mask grow with it. Each",
        "TextEdit action is drawn uniformly among the valid ones of `action_masks()` (by rejection, so the driver",
        "touches as little memory with 491,201 actions as with 1,152), the mask timed apart from the steps: an",
        "agent that masks pays both (the last column).",
        "",
        "| environment | actions | steps/s (step + reset) | vs CartPole-v1 | `action_masks()` (us/call) "
        "| steps/s with the mask |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, (rate, ratio, _, mask_us, actions) in rates.items():
        with_mask = ("-", "-") if np.isnan(mask_us) else (f"{mask_us:.1f}", f"{1 / (1 / rate + mask_us / 1e6):,.0f}")
        lines.append(f"| {name} | {actions:,} | {rate:,.0f} | {ratio:.0%} | {' | '.join(with_mask)} |")
    hidden = {name: vs_observed for name, (_, _, vs_observed, *_) in rates.items() if "hidden" in name}
    lines += [
        "",
        "Incremental against library reward in the same environment: "
        f"{1 / rates['TextEdit-v0 (library BLEU)'][2]:.1f}x. Reference hidden against observed (steps/s, the "
        "ratio taken within each round): "
        + ", ".join(f"{ratio:.2f}x ({name.split(', ')[-1]})" for name, ratio in hidden.items())
        + ".",
        "",
        "## Scoring every valid action of a state (`env.unwrapped.action_rewards()`, BLEU, 20 words)",
        "",
        "| method | us per candidate |",
        "|---|---:|",
        f"| `action_rewards()` | {batch[0]:.2f} |",
        f"| `sacrebleu.sentence_bleu` per candidate | {batch[1]:.1f} |",
        "",
        f"{batch[2]:.0f} valid actions per state on average; speed-up {batch[1] / batch[0]:.1f}x.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=5000, help="edit steps per metric and length; each environment runs 4x as many"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "throughput.md")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    words = english_words()
    rows = metric_costs(words, args.steps, rng)
    rates = env_rates(words, 4 * args.steps, rng)
    batch = batch_scoring(words, 30, rng)
    text = report(args, rows, rates, batch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
