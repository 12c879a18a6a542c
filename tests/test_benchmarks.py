"""The benchmark scripts run and report what their docstrings promise (tiny sizes: what is
tested is the plumbing and the report, not the speed, which the scripts themselves measure)."""

from __future__ import annotations

import json
import sys

import pytest

from .conftest import ROOT, run

pytestmark = pytest.mark.slow


def _bench(script, tmp_path, *args, env=None, check=True):
    proc = run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
               env={"EBM_COURSE_RESULTS": str(tmp_path), **(env or {})}, timeout=600,
               check=check)
    return proc.stdout.strip().splitlines() if check else proc


def test_time_to_quality_trains_both_and_judges_them_alike(tmp_path):
    lines = _bench("train_time.py", tmp_path, "--budget", "1", "--samples", "16",
                   "--gen-steps", "3")
    result = json.loads((tmp_path / "bench_train.json").read_text())
    for which in ("course", "tutorial"):
        r = result[which]
        assert r["iterations"] >= 1 and r["train_seconds"] > 0
        assert 0.0 <= r["auroc_vs_flipped"] <= 1.0 and 1.0 <= r["inception_score"] <= 10.0
        assert 0 <= r["classes_present"] <= 10 and r["frechet_distance"] >= 0
    assert lines[-1].startswith("course: AUROC flipped ") and "| tutorial: " in lines[-1]


def test_time_to_quality_recipe_experiments_count_iterations_and_record_the_change(tmp_path):
    out = tmp_path / "experiment.json"
    _bench("train_time.py", tmp_path, "--only", "course", "--steps", "2", "--set", "beta1=0.9",
           "--set", "n_steps=3", "--samples", "16", "--gen-steps", "2", "--out", str(out))
    result = json.loads(out.read_text())
    assert result["course_overrides"] == {"beta1": 0.9, "n_steps": 3}
    assert result["steps"] == 2 and result["budget_seconds"] is None
    assert result["course"]["iterations"] == 2 and "tutorial" not in result
    assert not (tmp_path / "bench_train.json").exists()  # --out, not the recorded benchmark
    bad = _bench("train_time.py", tmp_path, "--set", "betta1=0.9", check=False)
    assert bad.returncode != 0 and "NAME=VALUE" in bad.stderr + bad.stdout


def test_jem_calibration_reports_ece_logit_size_and_temperature(tmp_path):
    out = tmp_path / "calibration.jsonl"
    out.write_text('{"earlier": "run"}\n')
    lines = _bench("jem_calibration.py", tmp_path, "--set", "alpha=0", "--out", str(out),
                   env={"EBM_COURSE_STEP_CAP": "4"})
    printed = json.loads(lines[-1])
    assert printed["overrides"] == {"alpha": 0.0}
    assert 0.0 <= printed["ece"] <= 1.0 and 0.0 <= printed["ece_after_temperature"] <= 1.0
    assert 0.0 < printed["mean_confidence"] <= 1.0 and printed["mean_top2_margin"] >= 0
    assert printed["validation_temperature"] > 0 and 0 <= printed["test_accuracy"] <= 1
    assert [json.loads(x) for x in out.read_text().splitlines()] == [{"earlier": "run"}, printed]


def test_sampler_benchmark_ends_with_the_paired_ratio(tmp_path):
    lines = _bench("sampler_speed.py", tmp_path, "--repeats", "2")
    result = json.loads((tmp_path / "bench_sampler.json").read_text())
    assert lines[-1] == f"ratio: {result['ratio']:.2f}" and result["ratio"] > 0
    assert len(result["all"]["tutorial"]) == 2
    # the limit of one step, timed in the same run, and the sampler's overhead over it
    assert result["limit_fp32_img_steps_per_s"] > 0 and len(result["all"]["limit_fp32"]) == 2
    assert result["overhead_fp32"] > -1 and result["overhead_auto"] > -1


def test_grading_breakdown_splits_each_command_by_the_cell_timings(tmp_path, monkeypatch):
    """bench-grading's breakdown: time before the first cell, each cell by kind (first cell,
    answers, checks, the rest), nbgrader after the last cell, and feedback apart."""
    import datetime
    from types import SimpleNamespace

    import nbformat

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from grading_time import breakdown

    def cell(busy, idle, meta=None):
        c = nbformat.v4.new_code_cell("pass")
        c.metadata["execution"] = {"iopub.status.busy": f"2026-01-01T00:00:{busy:02d}Z",
                                   "iopub.status.idle": f"2026-01-01T00:00:{idle:02d}Z"}
        if meta:
            c.metadata["nbgrader"] = meta
        return c

    nb = nbformat.v4.new_notebook()
    nb.cells = [cell(2, 4), cell(4, 5, {"solution": True}), cell(5, 8, {"grade": True}),
                cell(8, 9)]
    (tmp_path / "autograded" / "ann" / "a").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "autograded" / "ann" / "a" / "a.ipynb")
    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
    steps = [SimpleNamespace(command="autograde", assignment="a", started=t0, seconds=10.0),
             SimpleNamespace(command="generate_feedback", assignment="a", started=t0 + 11,
                             seconds=2.0)]
    assert breakdown(tmp_path, steps) == {"a": {
        "autograde": 10.0, "before the first cell": 2.0, "first cell (imports)": 2.0,
        "answers": 1.0, "checks": 3.0, "the rest": 1.0, "nbgrader after the cells": 1.0,
        "generate_feedback": 2.0, "notebooks": 1}}
