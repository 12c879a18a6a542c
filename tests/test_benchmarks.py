"""The benchmark scripts run and report what their docstrings promise (tiny sizes: what is
tested is the plumbing and the report, not the speed, which the scripts themselves measure)."""

from __future__ import annotations

import json
import sys

import pytest

from .conftest import ROOT, run

pytestmark = pytest.mark.slow


def _bench(script, tmp_path, *args):
    proc = run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
               env={"EBM_COURSE_RESULTS": str(tmp_path)}, timeout=600)
    return proc.stdout.strip().splitlines()


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


def test_sampler_benchmark_ends_with_the_paired_ratio(tmp_path):
    lines = _bench("sampler_speed.py", tmp_path, "--repeats", "2")
    result = json.loads((tmp_path / "bench_sampler.json").read_text())
    assert lines[-1] == f"ratio: {result['ratio']:.2f}" and result["ratio"] > 0
    assert len(result["all"]["tutorial"]) == 2
