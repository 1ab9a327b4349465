"""The algorithm comparison (benchmarks/compare.py): its statistics, its results file, and --quick end to end."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from benchmarks import compare
from benchmarks.stats import iqm, separated, stratified_bootstrap_ci
from benchmarks.suite import ALGORITHMS


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.array([8.0, 1, 7, 2, 6, 3, 5, 4])) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert iqm(np.array([0.0, 1.0, 100.0])) == pytest.approx(101 / 3)  # int(0.25 * 3) = 0: nothing cut
    rows = np.array([[1.0, 2, 3, 100], [0, 0, 1, 1]])
    np.testing.assert_allclose(iqm(rows, axis=1), [2.5, 0.5])


def test_bootstrap_resamples_within_each_stratum():
    # Each task's runs agree, so resampling within tasks never changes the IQM of [0,0,0,0,1,1,1,1];
    # pooled resampling would.
    assert stratified_bootstrap_ci([[0, 0, 0, 0], [1, 1, 1, 1]], resamples=500) == (0.5, 0.5, 0.5)
    estimate, low, high = stratified_bootstrap_ci([[0.1, 0.5, 0.9, 0.3, 0.7]], resamples=2000, seed=1)
    assert estimate == pytest.approx(0.5) and low < estimate < high and 0.1 <= low and high <= 0.9
    assert stratified_bootstrap_ci([[0.1, 0.5, 0.9]], seed=3) == stratified_bootstrap_ci([[0.1, 0.5, 0.9]], seed=3)


def test_separation_names_the_intervals_that_overlap_the_leaders():
    intervals = {"a": (0.9, 0.85, 0.95), "b": (0.8, 0.7, 0.86), "c": (0.5, 0.4, 0.6)}
    assert separated(intervals) == ("a", ["b"])
    assert separated({"a": (0.9, 0.85, 0.95), "c": (0.5, 0.4, 0.6)}) == ("a", [])


@pytest.mark.slow
def test_quick_run_writes_every_algorithm_and_a_rerun_skips_them(tmp_path, capsys):
    results, out = tmp_path / "results.jsonl", tmp_path / "report"
    md = compare.main(["--quick", "--results", str(results), "--out", str(out)])
    assert md.exists() and (out / "learning_curves.png").stat().st_size > 0
    records = [json.loads(line) for line in results.read_text().splitlines()]
    runs = [r for r in records if r["kind"] == "run"]
    assert {r["algorithm"] for r in runs} == set(ALGORITHMS)
    for task in ("tiny-bleu", "fix-easy"):  # every algorithm that applies, on each task
        applies = {a for a, spec in ALGORITHMS.items() if spec.tasks is None or task in spec.tasks}
        assert {r["algorithm"] for r in runs if r["task"] == task} == applies
    assert [r["kind"] for r in records].count("sitting") == 1
    no_curve = ("bc", "bc-budget", "lm")  # their steps are the demonstrations' (and RL states'): no curve
    for run in runs:
        for key in ("solve_rate", "mean_return", "train_seconds", "wall_seconds", "steps_per_second"):
            assert math.isfinite(run[key]), (run["algorithm"], key)
        if run["train_steps"] and run["algorithm"] not in no_curve:  # learners: a curve point at each evaluation
            assert [p["step"] for p in run["curve"]] == [150, 300], run["algorithm"]
        if run["algorithm"] in no_curve:
            assert run["curve"] == [] and run["train_steps"] > 0
    assert all(r["mean_final_score"] == pytest.approx(1.0) for r in runs if r["algorithm"] == "oracle")
    table = md.read_text()
    rows = {row.split(" | ")[1] for row in table.splitlines() if row.startswith("| tiny-bleu | ")}
    assert rows >= {a for a, spec in ALGORITHMS.items() if spec.tasks is None or "tiny-bleu" in spec.tasks}
    hidden = {row.split(" | ")[1] for row in table.splitlines() if row.startswith("| fix-easy | ")}
    assert hidden >= {a for a, spec in ALGORITHMS.items() if spec.tasks is None or "fix-easy" in spec.tasks}
    assert "## Hidden-reference tracks" in table and "Probability of improvement" in table
    assert "nan" not in table.lower()

    # A rerun finds every run in the results file and trains nothing; a line cut short by a crash is skipped.
    with open(results, "a") as f:
        f.write('{"kind": "run", "task": "tiny-bl')
    capsys.readouterr()
    compare.main(["--quick", "--results", str(results), "--out", str(out)])
    output = capsys.readouterr()
    assert "0 run(s) to do" in output.out and "not JSON" in output.err
    assert compare.read_results(results) == records  # nothing run, nothing added


@pytest.mark.slow
def test_report_is_rebuilt_from_the_results_file_alone(tmp_path):
    results = tmp_path / "results.jsonl"
    compare.main(["--quick", "--algorithms", "random", "--results", str(results), "--out", str(tmp_path / "a")])
    md = compare.main(["--quick", "--report", "--results", str(results), "--out", str(tmp_path / "b")])
    assert md.read_text() == (tmp_path / "a" / "compare.md").read_text()


def test_an_interrupted_sitting_keeps_its_finished_runs_and_a_rerun_does_the_rest(tmp_path, monkeypatch, capsys):
    results, run = tmp_path / "results.jsonl", compare.run
    argv = [
        "--quick",
        "--tasks",
        "tiny-bleu",
        "--algorithms",
        "random",
        "greedy",
        "--seeds",
        "2",
        "--workers",
        "1",
        "--results",
        str(results),
        "--out",
        str(tmp_path),
    ]
    calls = []

    def interrupted_at_the_third_run(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run(*args, **kwargs)

    monkeypatch.setattr(compare, "run", interrupted_at_the_third_run)
    compare.main(argv)
    assert "interrupted after 2 of 6 run(s)" in capsys.readouterr().err
    sitting = [r for r in compare.read_results(results) if r["kind"] == "sitting"]
    assert [(s["runs"], s["pending"]) for s in sitting] == [(2, 4)]

    monkeypatch.setattr(compare, "run", run)
    compare.main(argv)
    assert "4 run(s) to do, 2 already" in capsys.readouterr().out
    runs = [r for r in compare.read_results(results) if r["kind"] == "run"]
    assert sorted((r["algorithm"], r["seed"]) for r in runs) == sorted(
        (a, s) for a in ("oracle", "random", "greedy") for s in (0, 1)
    )


def test_ray_address_without_ray_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as where Ray is not installed
    with pytest.raises(SystemExit, match=r"--ray-address needs Ray, .*: pip install 'ray>=2.60'"):
        compare.parse_args(["--ray-address", "local"])
    assert compare.parse_args([]).ray_address == ""  # the local pool is the default


def test_optimality_gap_and_probability_of_improvement_as_rliable_defines_them():
    from benchmarks.stats import optimality_gap, probability_of_improvement

    assert optimality_gap(np.array([0.5, 1.2, 0.0])) == pytest.approx((0.5 + 0 + 1) / 3)  # beyond 1 earns nothing
    assert probability_of_improvement([[1, 2], [5]], [[0, 0], [5]], resamples=200)[0] == pytest.approx((1 + 0.5) / 2)
    point, low, high = probability_of_improvement([[0.2, 0.4, 0.6]], [[0.1, 0.3, 0.5]], resamples=500)
    assert point == pytest.approx(6 / 9) and low <= point <= high


@pytest.mark.slow
def test_the_stopping_benchmark_records_each_cell_once_and_reports_the_targets(tmp_path, capsys):
    from benchmarks import stopping

    md = stopping.main(["--quick", "--out", str(tmp_path)]).read_text()
    assert "| dqn, pretrain_episodes=20, steps=300 | easy | bleu | 0 |" in md
    assert "| bc, pretrain_episodes=20, steps=300 | easy | bleu | 0 |" in md
    assert "| sb3-dqn, pretrain_episodes=20, steps=300 | easy | bleu | 0 |" in md
    assert "| sb3-maskable-ppo, pretrain_episodes=20, steps=300 | easy | bleu | 0 |" in md
    summary = md.split("## Summary")[1].split("## Every run")[0]  # a row per agent, whether it solved any or none
    assert all(summary.count(f"| {agent}, ") == 1 for agent in ("dqn", "bc", "sb3-dqn", "sb3-maskable-ppo"))
    stopping.main(["--quick", "--out", str(tmp_path)])  # a rerun trains nothing
    assert len((tmp_path / "stopping.jsonl").read_text().splitlines()) == 4
    assert "seed 0:" not in capsys.readouterr().out.split("wrote")[1]


def test_the_stopping_benchmark_keeps_every_set_pair_and_names_a_bad_one(capsys):
    from benchmarks.stopping import parse_args

    pairs = {"attention_layers": 1, "pretrain_epochs": 16, "encoder": "lstm"}
    assert parse_args(["--set", "attention_layers=1", "--set", "pretrain_epochs=16", "encoder=lstm"]).overrides == pairs
    for argv, message in (
        (["--set", "attention_layers"], "expected KEY=VALUE"),
        (["--set", "=1"], "expected KEY=VALUE"),
        (["--set", "steps=1", "--set", "steps=2"], "--set steps is given twice"),
    ):
        with pytest.raises(SystemExit):
            parse_args(argv)
        assert message in capsys.readouterr().err


def test_the_delete_values_benchmark_compares_each_q_with_its_target(tmp_path):
    from benchmarks import delete_values

    delete_values.main(["--quick", "--out", str(tmp_path)])
    lines = (tmp_path / "delete_values.md").read_text().splitlines()
    cells = [line.strip("| ").split(" | ") for line in lines if line.startswith(("| bleu", "| chrf"))]
    assert [c[:2] for c in cells] == [["bleu", "False"], ["bleu", "True"], ["chrf", "False"], ["chrf", "True"]]
    assert all(int(c[2]) > 0 for c in cells)  # some deletes in every row


def test_the_levels_benchmark_reports_training_and_unseen_levels(tmp_path):
    from benchmarks import levels

    assert set(levels.Setting().learners) <= set(ALGORITHMS)  # the full run's learners are the comparison's
    md = levels.main(["--quick", "--out", str(tmp_path)]).read_text()
    runs = json.loads((tmp_path / "levels.json").read_text())["runs"]
    assert [(r["levels"], "training_levels" in r) for r in runs] == [(5, True), (0, False)]
    assert "| dqn | 5 levels |" in md and "| dqn | unlimited levels | - |" in md


def test_performance_profile_is_the_fraction_of_runs_above_each_threshold():
    from benchmarks.stats import fraction_above, performance_profile

    assert fraction_above(np.array([0.2, 0.6, 1.0, -0.5]), tau=0.5) == pytest.approx(0.5)  # 0.6 and 1.0
    profile = performance_profile([[0.2, 0.6], [1.0, -0.5]], [0.0, 0.5, 1.0], resamples=200)
    np.testing.assert_allclose(profile[:, 0], [0.75, 0.5, 0.0])  # a score of 1 does not exceed tau = 1
    assert (profile[:, 1] <= profile[:, 0]).all() and (profile[:, 0] <= profile[:, 2]).all()
    # Runs that agree within each task: every stratified resample gives the same fraction.
    np.testing.assert_allclose(performance_profile([[1, 1], [0, 0]], [0.5], resamples=200), [[0.5, 0.5, 0.5]])


def test_curve_area_is_the_trapezoid_from_step_zero():
    from benchmarks.report import curve_area

    # Points at 1/5..5/5 of the budget, the untrained learner taken to solve nothing at step 0:
    # 0.2 * 0.5 / 2 + 0.2 * (0.5 + 1) / 2 + 0.6 * 1 = 0.05 + 0.15 + 0.6.
    curve = [{"step": s, "solve_rate": v} for s, v in ((20, 0.5), (40, 1), (60, 1), (80, 1), (100, 1))]
    assert curve_area({"steps": 100, "curve": curve}) == pytest.approx(0.8)
    untrained = [{"step": 0, "solve_rate": 0.5}, {"step": 50, "solve_rate": 1.0}, {"step": 100, "solve_rate": 1.0}]
    assert curve_area({"steps": 100, "curve": untrained}) == pytest.approx(0.5 * 0.75 + 0.5)
    assert curve_area({"steps": 100, "curve": []}) is None and curve_area({"steps": 100, "curve": None}) is None


def run_record(task: str, algorithm: str, mean_return: float, curve: list | None) -> dict:
    return {
        "kind": "run",
        "task": task,
        "algorithm": algorithm,
        "steps": 100,
        "mean_return": mean_return,
        "solve_rate": 1.0,
        "mean_steps": 1.0,
        "mean_solved_steps": 1.0,
        "truncated_rate": 0.0,
        "train_seconds": 1.0,
        "steps_per_second": 1.0,
        "wall_seconds": 1.0,
        "curve": curve,
        "machine": "a machine",
        "versions": "some versions",
    }


def test_report_gives_the_optimality_gap_the_probability_of_improvement_and_the_curve_area(tmp_path):
    from benchmarks.report import plot_profiles, report

    curve = [{"step": 50, "solve_rate": 0.5}, {"step": 100, "solve_rate": 1.0}]  # area 0.125 + 0.375
    returns = {  # return / oracle: dqn [1, 0.5] and [1, 1]; bc [1, 1] and [0.5, 0.5]
        ("tiny-bleu", "dqn"): (0.5, 0.25),
        ("easy-bleu", "dqn"): (0.5, 0.5),
        ("tiny-bleu", "bc"): (0.5, 0.5),
        ("easy-bleu", "bc"): (0.25, 0.25),
    }
    records = [run_record(t, "oracle", 0.5, None) for t in ("tiny-bleu", "easy-bleu") for _ in range(2)]
    records += [
        run_record(t, a, value, curve if a == "dqn" else []) for (t, a), values in returns.items() for value in values
    ]
    lines = report(records, 200).splitlines()

    def row(start: str) -> list[str]:
        return next(line for line in lines if line.startswith(start)).split(" | ")

    assert row("| dqn | 4 | 2 |")[-1].startswith("0.125 [")  # optimality gap: the mean shortfall of 1, 0.5, 1, 1
    assert row("| bc | 4 | 2 |")[-1].startswith("0.250 [")
    # P(dqn > bc): 1/4 on tiny-bleu (two ties, two losses), 1 on easy-bleu; averaged over the two tasks.
    assert row("| | bc | dqn |") and row("| dqn | 0.625 [") and row("| bc |  | 0.375 [")
    header = row("| task | algorithm | seeds |")
    per_task = {tuple(cells[:2]): cells for line in lines if len(cells := line.split(" | ")) == len(header)}
    curve_area = header.index("curve area")
    assert per_task[("| tiny-bleu", "dqn")][curve_area] == "0.50"
    assert per_task[("| tiny-bleu", "bc")][curve_area] == per_task[("| easy-bleu", "oracle")][curve_area] == "-"
    assert "(performance_profiles.png)" in lines[-1] and "nan" not in "".join(lines).lower()
    plot_profiles(records, tmp_path / "profiles.png", 200)
    assert (tmp_path / "profiles.png").stat().st_size > 0


def test_report_says_which_cells_of_the_suite_are_missing():
    from benchmarks.report import report
    from benchmarks.suite import ALGORITHMS, SUITE

    records = [run_record(t, a, 0.5, None) for t in ("tiny-bleu", "easy-bleu") for a in ("oracle", "bc") for _ in "ab"]
    records.append(run_record("tiny-bleu", "random", 0.0, None))  # one seed of two
    lines = report(records, 200).splitlines()
    table = lines[lines.index("## Coverage") :]
    rows = [line.strip("| ").split(" | ") for line in table[6 : 6 + len(SUITE)]]
    missing = {task: set(names.split(", ")) for task, names in rows}
    cells = sum(1 for t in SUITE for a in ALGORITHMS.values() if a.tasks is None or t in a.tasks)
    assert table[2].startswith(f"4 of the suite's {cells} (task, algorithm) cells have 2 seeds at 100 steps")
    assert "random (1)" in missing["tiny-bleu"] and "random" in missing["easy-bleu"]
    assert {"oracle", "bc"}.isdisjoint(missing["tiny-bleu"] | missing["easy-bleu"])
    assert missing["fix-ua"] >= {"stop", "bc"} and "qlearning" not in missing["fix-ua"]  # not run there at all
