"""The comparison's report (``compare.md``), learning curves and performance profiles, rebuilt from the results file
alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.stats import (
    iqm,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    separated,
    stratified_bootstrap_ci,
)
from benchmarks.suite import ALGORITHMS, HIDDEN, NON_LEARNERS, SUITE
from benchmarks.trainers import TRAIN_EPISODE_STEPS

Scores = dict[tuple[str, str], list[float]]
"""the normalized scores of the runs of each (task, algorithm)"""
TAUS = np.linspace(0.0, 1.0, 101)
"""the performance profiles' thresholds"""


def interval(value: tuple[float, float, float]) -> str:
    return f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"


def recorded_mean(values: Iterable[float | None]) -> str:
    """The mean of the values recorded (None: a run without it, e.g. one recorded before it was measured), or -."""
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.2f}" if values else "-"


def grouped(runs: list[dict]) -> dict[tuple[str, str], list[dict]]:
    by: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        by.setdefault((r["task"], r["algorithm"]), []).append(r)
    return by


def split(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """The runs on the suite's tasks with a reference in view, and those on the hidden-reference tracks."""
    runs = [r for r in records if r["kind"] == "run"]
    return [r for r in runs if r["task"] not in HIDDEN], [r for r in runs if r["task"] in HIDDEN]


def return_fractions(runs: list[dict]) -> Scores:
    """Return / oracle, the normalized score of the tasks with a reference in view: a run's mean test return over the
    oracle's on the same episodes (0: no edit, 1: the oracle), on the tasks with oracle runs."""
    by = grouped(runs)
    oracle = {t: np.mean([r["mean_return"] for r in group]) for (t, a), group in by.items() if a == "oracle"}
    return {(t, a): [r["mean_return"] / oracle[t] for r in group] for (t, a), group in by.items() if t in oracle}


def normalized_returns(runs: list[dict]) -> Scores:
    """The normalized score of the hidden tracks: the share of the way from no edit (the source's score) to the
    privileged oracle's score, on the tracks with oracle runs."""
    by = grouped(runs)
    oracle = {t: np.mean([r["mean_final_score"] for r in group]) for (t, a), group in by.items() if a == "oracle"}

    def normalized(r: dict) -> float:
        return (r["mean_final_score"] - r["mean_initial_score"]) / (oracle[r["task"]] - r["mean_initial_score"])

    return {(t, a): [normalized(r) for r in group] for (t, a), group in by.items() if t in oracle}


def profile_panels(records: list[dict]) -> dict[str, Scores]:
    """The performance profiles' panels, each with its normalized score: the tasks with a reference in view and the
    hidden tracks, those with runs."""
    runs, hidden_runs = split(records)
    panels = {
        "tasks with a reference in view: return / oracle": return_fractions(runs),
        "hidden tracks: normalized return": normalized_returns(hidden_runs),
    }
    return {title: scores for title, scores in panels.items() if scores}


def curve_area(run: dict) -> float | None:
    """Sample efficiency: the trapezoidal area under the run's test solve rate against the fraction of its training
    budget, from 0 to 1; with no evaluation at step 0 recorded, the untrained learner is taken to solve nothing there.
    None for a run without a curve."""
    if not run["curve"]:
        return None
    points = [(p["step"] / run["steps"], p["solve_rate"]) for p in run["curve"]]
    if points[0][0] > 0:
        points.insert(0, (0.0, 0.0))
    fractions, solve_rates = zip(*points)
    return float(np.trapezoid(solve_rates, fractions))


def aggregate_cells(strata: Sequence[Sequence[float]], resamples: int) -> str:
    """rliable's aggregates of normalized scores over tasks, the bootstrap stratified by task: the IQM and the
    optimality gap (how far the scores fall short of the oracle's 1 on average; lower is better)."""
    return " | ".join(
        interval(stratified_bootstrap_ci(strata, statistic, resamples)) for statistic in (iqm, optimality_gap)
    )


def improvement_table(scores: Scores, contenders: list[str], score: str, resamples: int) -> list[str]:
    """rliable's probability of improvement of each contender over each other, on the tasks both ran on."""
    lines = [
        f"P(a run of the row algorithm scores a higher {score} than a run of the column's), averaged over the tasks "
        "both ran on, with its 95% stratified-bootstrap CI (each algorithm's runs resampled per task); above 0.5: the "
        "row is better; empty: no task in common.",
        "",
        "| | " + " | ".join(contenders) + " |",
        "|---|" + "---|" * len(contenders),
    ]
    for x in contenders:
        cells = []
        for y in contenders:
            shared = [t for t in SUITE if (t, x) in scores and (t, y) in scores]
            if x == y or not shared:
                cells.append("")
                continue
            xs, ys = [scores[(t, x)] for t in shared], [scores[(t, y)] for t in shared]
            cells.append(interval(probability_of_improvement(xs, ys, resamples=resamples)))
        lines.append(f"| {x} | " + " | ".join(cells) + " |")
    return lines


def coverage(runs: list[dict]) -> list[str]:
    """Which (task, algorithm) cells of the suite lack runs at the main budget (the smallest recorded), against
    the most seeds any cell has there: the table fills in sittings, and a reader must see what is not there."""
    budget = min(r["steps"] for r in runs)
    seeds = grouped([r for r in runs if r["steps"] == budget])
    target = max(len(v) for v in seeds.values())
    cells = [(t, a) for t in SUITE for a, algo in ALGORITHMS.items() if algo.tasks is None or t in algo.tasks]
    missing = {t: [(a, len(seeds.get((t, a), []))) for tt, a in cells if tt == t] for t in SUITE}
    missing = {t: [(a, n) for a, n in cell if n < target] for t, cell in missing.items()}
    lines = [
        "## Coverage",
        "",
        f"{len(cells) - sum(map(len, missing.values()))} of the suite's {len(cells)} (task, algorithm) cells have "
        f"{target} seeds at {budget:,} steps. Still missing (seeds recorded so far in brackets where some are):",
        "",
        "| task | algorithms still missing |",
        "|---|---|",
    ]
    for t, cell in missing.items():
        names = ", ".join(f"{a} ({n})" if n else a for a, n in cell) or "none: complete"
        lines.append(f"| {t} | {names} |")
    return lines + [""]


def report(records: list[dict], resamples: int) -> str:
    every_run = [r for r in records if r["kind"] == "run"]
    sittings = [r for r in records if r["kind"] == "sitting"]
    runs, hidden_runs = split(records)  # the hidden tracks have their own section
    tasks = [t for t in SUITE if t not in HIDDEN and any(r["task"] == t for r in runs)]
    algorithms = [a for a in ALGORITHMS if any(r["algorithm"] == a for r in runs)]
    by = grouped(runs)
    fractions = return_fractions(runs)
    budgets = sorted({r["steps"] for r in runs})
    seeds = sorted({len(v) for (t, a), v in by.items() if a not in NON_LEARNERS})
    lines = [
        "# Algorithm comparison on the TextEdit task suite",
        "",
        f"Built by `python -m benchmarks.compare --report` from the {len(every_run)} runs in the results file: "
        f"{sum(r['wall_seconds'] for r in every_run) / 3600:.1f} h of run time in all (each run one process and one "
        f"torch thread; "
        f"{', '.join(sorted({r['machine'] for r in every_run}))}), made in {len(sittings)} recorded sitting(s) of "
        f"{sum(s['wall_seconds'] for s in sittings) / 3600:.1f} h of wall time with "
        f"{' / '.join(sorted({str(s['workers']) for s in sittings})) or '?'} runs at a time. Commands: "
        + "; ".join(f"`{c}`" for c in dict.fromkeys(s["command"] for s in sittings))
        + f". Versions: {'; '.join(sorted({r['versions'] for r in every_run}))}.",
        "",
        f"Every learner trains on the `train` split for {' / '.join(f'{b:,}' for b in budgets)} environment steps "
        f"({' / '.join(map(str, seeds))} seeds per task), training episodes cut at {TRAIN_EPISODE_STEPS} steps, and is "
        "evaluated greedily on the same `test`-split episodes (sentences never seen in training; at most 50 steps): "
        "during training for the learning curves, and at the end. IQM: interquartile mean over seeds with a 95% "
        f"stratified-bootstrap confidence interval ({resamples} resamples; rliable's method). Return / oracle: "
        f"mean test "
        "return over the oracle's on the same episodes. Solved steps: mean length of the solved episodes over the "
        "oracle's. Stops: share of episodes started at the reference in which it stops at once; detours: share of "
        "solved episodes with an edit undone or redone (both - for runs recorded before they were measured). "
        "Cut: share of episodes that ran to the time limit. Steps/s: training environment steps per "
        "second of training time (baselines: of evaluation). Curve area (sample efficiency): the area under a run's "
        "learning curve, its test solve rate against the fraction of the training budget from 0 to 1 (trapezoidal), "
        "mean over seeds; no evaluation before training is recorded, so the curve is taken to start at a solve rate of "
        "0 at step 0 (a run that solves every test episode from its first evaluation on, at a fraction f of the "
        "budget, scores 1 - f/2: 0.9 with the first at a fifth); - for runs without a curve (the baselines, and BC, "
        "whose steps are demonstrations).",
        "",
        *coverage(every_run),
        "## Tasks",
        "",
        "| task | env kwargs | description | oracle steps | oracle return |",
        "|---|---|---|---|---|",
    ]
    for t in tasks:
        o = by.get((t, "oracle"), [{}])[0]
        lines.append(
            f"| {t} | `{SUITE[t].env_kwargs}` | {SUITE[t].description} | {o.get('mean_steps', float('nan')):.2f} | "
            f"{o.get('mean_return', float('nan')):.3f} |"
        )
    lines += ["", "## Algorithms", ""] + [f"- **{a}**: {ALGORITHMS[a].note}" for a in algorithms]
    lines += [
        "",
        "## Which algorithm leads",
        "",
        "Per task, the learner with the highest solve-rate IQM, and the learners whose confidence interval "
        "overlaps the leader's (not separated from it at this budget and number of seeds).",
        "",
        "| task | leader | solve rate IQM [95% CI] | not separated from the leader |",
        "|---|---|---|---|",
    ]
    cis = {}
    for t in tasks:
        for a in algorithms:
            if (t, a) in by:
                cis[(t, a)] = {
                    "solve": stratified_bootstrap_ci([[r["solve_rate"] for r in by[(t, a)]]], resamples=resamples),
                    "fraction": stratified_bootstrap_ci([fractions[(t, a)]], resamples=resamples),
                }
        learners = {a: cis[(t, a)]["solve"] for a in algorithms if (t, a) in cis and a not in NON_LEARNERS}
        if learners:
            leader, tied = separated(learners)
            others = (
                ", ".join(tied)
                if tied
                else "none: it leads alone"
                if len(learners) > 1
                else "the only learner run here so far"
            )
            lines.append(f"| {t} | {leader} | {interval(learners[leader])} | {others} |")
    lines += [
        "",
        "## Results per task",
        "",
        "Early: mean test solve rate at the first evaluation during training (the first point of the learning "
        "curves), which separates learners that all end at the top.",
        "",
        "| task | algorithm | seeds | solve rate IQM [95% CI] | early | curve area | return / oracle IQM [95% CI] "
        "| solved steps | stops | detours | cut | train s | steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        for a in algorithms:
            if (t, a) not in by:
                continue
            group, oracle_steps = (
                by[(t, a)],
                by[(t, "oracle")][0]["mean_steps"] if (t, "oracle") in by else float("nan"),
            )
            solved = [r["mean_solved_steps"] for r in group if r["solve_rate"] > 0]
            early = [r["curve"][0] for r in group if r["curve"]]
            early_text = f"{np.mean([p['solve_rate'] for p in early]):.3f} at {early[0]['step']:,}" if early else "-"
            lines.append(
                f"| {t} | {a} | {len(group)} | {interval(cis[(t, a)]['solve'])} | {early_text} | "
                f"{recorded_mean(map(curve_area, group))} | {interval(cis[(t, a)]['fraction'])} | "
                f"{f'{np.mean(solved) / oracle_steps:.2f}' if solved else '-'} | "
                f"{recorded_mean(r.get('stop_rate') for r in group)} | "
                f"{recorded_mean(r.get('detour_rate') for r in group)} | "
                f"{np.mean([r['truncated_rate'] for r in group]):.3f} | "
                f"{np.mean([r['train_seconds'] for r in group]):.0f} | "
                f"{np.mean([r['steps_per_second'] for r in group]):.0f} |"
            )
    lines += [
        "",
        "## Aggregate over tasks",
        "",
        "Over all runs of an algorithm on the tasks it ran on, the bootstrap stratified by task (rliable): the IQM of "
        "the solve rate, and the IQM and optimality gap of the normalized score, return / oracle (how far it falls "
        "short of the oracle's 1 on average, a score above 1 counting as 1; lower is better).",
        "",
        "| algorithm | runs | tasks | solve rate IQM [95% CI] | return / oracle IQM [95% CI] | optimality gap [95% "
        "CI] |",
        "|---|---|---|---|---|---|",
    ]
    for a in algorithms:
        ran = [t for t in tasks if (t, a) in by]
        solve = stratified_bootstrap_ci([[r["solve_rate"] for r in by[(t, a)]] for t in ran], resamples=resamples)
        scores = aggregate_cells([fractions[(t, a)] for t in ran], resamples)
        lines.append(f"| {a} | {sum(len(by[(t, a)]) for t in ran)} | {len(ran)} | {interval(solve)} | {scores} |")
    learners = [a for a in algorithms if a not in NON_LEARNERS]
    if len(learners) > 1:
        lines += ["", "## Probability of improvement (rliable)", ""]
        lines += improvement_table(fractions, learners, "return / oracle", resamples)
    lines += hidden_report(hidden_runs, resamples)
    if any(r["curve"] for r in runs):
        lines += [
            "",
            "## Learning curves",
            "",
            "![learning curves](learning_curves.png): test solve rate during training, mean over seeds, band min to "
            "max; dashed: SB3's `MultiInputPolicy`.",
        ]
    if profile_panels(records):
        lines += [
            "",
            "## Performance profiles (rliable)",
            "",
            "![performance profiles](performance_profiles.png): the fraction of an algorithm's runs whose normalized "
            "score (return / oracle; on the hidden tracks, the normalized return) exceeds a threshold tau, for tau "
            "from 0 to 1, over the tasks it ran on (their number in the legend), with a 95% stratified-bootstrap "
            "band; higher is better. Dotted grey: the baselines; dashed: SB3's `MultiInputPolicy`.",
        ]
    return "\n".join(lines) + "\n"


def hidden_report(runs: list[dict], resamples: int) -> list[str]:
    """The hidden-reference tracks: normalized returns, which learners the intervals separate, and
    rliable's aggregates over the tracks."""
    tasks = [t for t in HIDDEN if any(r["task"] == t and r["algorithm"] == "oracle" for r in runs)]
    if not tasks:
        return []
    by = grouped(runs)
    algorithms = [a for a in ALGORITHMS if any((t, a) in by for t in tasks)]
    normalized = normalized_returns(runs)

    def reads(a: str) -> str:
        return ALGORITHMS[a].privileged or "the text"

    cis = {key: stratified_bootstrap_ci([scores], resamples=resamples) for key, scores in normalized.items()}
    budgets = sorted({r["steps"] for r in runs if r["algorithm"] not in NON_LEARNERS})
    lines = [
        "",
        "## Hidden-reference tracks",
        "",
        "The agent sees the text and its source, never the reference (`observe_reference=False`). Normalized "
        "return: the share of the way from stopping at once (the source's score) to the privileged oracle's final "
        "score, on the same test episodes: 0 is doing nothing, 1 the oracle, below 0 worse than doing nothing. "
        "Reads: what an algorithm uses beyond the text; a teacher is used in training only. IQM over seeds with a "
        f"95% stratified-bootstrap CI. Budget{'s' if len(budgets) > 1 else ''}: "
        f"{' / '.join(f'{b:,}' for b in budgets) or '-'} environment steps (baselines do not train). Curve area: "
        "as in the tables above.",
        "",
        "| task | algorithm | reads | seeds | normalized IQM [95% CI] | final score | no edit | solve rate | curve "
        "area | steps | stops | cut | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        for a in algorithms:
            if (t, a) not in by:
                continue
            group = by[(t, a)]
            lines.append(
                f"| {t} | {a} | {reads(a)} | {len(group)} | {interval(cis[(t, a)])} | "
                f"{np.mean([r['mean_final_score'] for r in group]):.3f} | "
                f"{np.mean([r['mean_initial_score'] for r in group]):.3f} | "
                f"{np.mean([r['solve_rate'] for r in group]):.3f} | {recorded_mean(map(curve_area, group))} | "
                f"{np.mean([r['mean_steps'] for r in group]):.2f} | "
                f"{recorded_mean(r.get('stop_rate') for r in group)} | "
                f"{np.mean([r['truncated_rate'] for r in group]):.3f} | "
                f"{np.mean([r['train_seconds'] for r in group]):.0f} |"
            )
    learners = [a for a in algorithms if a not in NON_LEARNERS]
    lines += [
        "",
        "### Which learners the intervals separate",
        "",
        "Per task, the learner of highest normalized IQM, those whose 95% interval overlaps its (not separated from "
        "the leader), and those whose interval lies above the no-edit baseline's (they learned to improve a text).",
        "",
        "| task | leader | normalized IQM [95% CI] | not separated from the leader | above stopping at once |",
        "|---|---|---|---|---|",
    ]
    for t in tasks:
        present = {a: cis[(t, a)] for a in learners if (t, a) in cis}
        if not present:
            continue
        leader, tied = separated(present)
        stop_high = cis[(t, "stop")][2] if (t, "stop") in cis else 0.0
        above = [a for a, ci in present.items() if ci[1] > stop_high]
        lines.append(
            f"| {t} | {leader} | {interval(present[leader])} | {', '.join(tied) or 'none'} | "
            f"{', '.join(above) or 'none'} |"
        )
    lines += [
        "",
        "### Aggregate over the hidden tracks (rliable)",
        "",
        "Over the tracks an algorithm ran on, the bootstrap stratified by task: the IQM of the normalized return "
        "and its optimality gap (as above).",
        "",
        "| algorithm | reads | runs | tasks | normalized IQM [95% CI] | optimality gap [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for a in algorithms:
        strata = [normalized[(t, a)] for t in tasks if (t, a) in normalized]
        lines.append(
            f"| {a} | {reads(a)} | {sum(map(len, strata))} | {len(strata)} | {aggregate_cells(strata, resamples)} |"
        )
    contenders = [a for a in ("stop", "fluency", *learners) if any((t, a) in by for t in tasks)]
    if len(contenders) > 1:
        lines += ["", "### Probability of improvement (rliable)", ""]
        lines += improvement_table(normalized, contenders, "normalized return", resamples)
    return lines


def line_styles(algorithms: list[str]) -> dict[str, dict[str, str]]:
    """Each algorithm's colour and line style: an SB3 algorithm and its -shared variant share a colour (dashed: SB3's
    MultiInputPolicy); the baselines are dotted, in greys."""
    learners = [a for a in algorithms if a not in NON_LEARNERS]
    families = list(dict.fromkeys(a.removesuffix("-shared") for a in learners))
    styles = {
        a: {
            "color": f"C{families.index(a.removesuffix('-shared')) % 10}",
            "linestyle": "--" if a.startswith("sb3-") and not a.endswith("-shared") else "-",
        }
        for a in learners
    }
    for a in algorithms:
        if a in NON_LEARNERS:
            styles[a] = {"color": str(0.15 * NON_LEARNERS.index(a)), "linestyle": ":"}
    return styles


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in records if r["kind"] == "run" and r["curve"]]
    tasks = [t for t in SUITE if any(r["task"] == t for r in runs)]
    learners = [a for a in ALGORITHMS if any(r["algorithm"] == a for r in runs)]
    if not runs:  # baselines only: nothing learns, no curves
        return
    styles = line_styles(learners)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks) + 2.6, 4), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        for a in learners:
            curves = [r["curve"] for r in runs if r["task"] == task and r["algorithm"] == a]
            if not curves:
                continue
            steps = [p["step"] for p in curves[0]]
            values = np.array([[p["solve_rate"] for p in c] for c in curves if len(c) == len(steps)])
            ax.plot(steps, values.mean(0), **styles[a], label=a)
            ax.fill_between(steps, values.min(0), values.max(0), color=styles[a]["color"], alpha=0.15)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
    axes[0, 0].set_ylabel("test solve rate")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    fig.legend(handles.values(), handles.keys(), loc="center right", fontsize="small")
    fig.tight_layout(rect=(0, 0, 1 - 2.6 / fig.get_figwidth(), 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_profiles(records: list[dict], path: Path, resamples: int) -> None:
    """rliable's performance profiles, a panel each of :func:`profile_panels`: per algorithm, the fraction of its runs
    whose normalized score exceeds tau, over the tasks it ran on, with a 95% stratified-bootstrap band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = profile_panels(records)
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 6.5), squeeze=False, sharey=True)
    for ax, (title, scores) in zip(axes[0], panels.items()):
        algorithms = [a for a in ALGORITHMS if any(key[1] == a for key in scores)]
        styles = line_styles(algorithms)
        for a in algorithms:
            strata = [scores[(t, a)] for t in SUITE if (t, a) in scores]
            profile = performance_profile(strata, TAUS, resamples)
            label = f"{a} ({len(strata)} task{'s' if len(strata) > 1 else ''})"
            ax.plot(TAUS, profile[:, 0], **styles[a], label=label)
            ax.fill_between(TAUS, profile[:, 1], profile[:, 2], color=styles[a]["color"], alpha=0.15)
        ax.set_title(title)
        ax.set_xlabel("normalized score tau")
        ax.legend(fontsize="x-small", ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    axes[0, 0].set_ylabel("fraction of runs with score > tau")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
