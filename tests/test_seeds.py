"""make seeds: each number's spread across seeds, nothing lost when a notebook fails."""

from __future__ import annotations

import json

import torch

from ebm_course import metrics, settings
from ebm_course.instructor import seeds


def test_numbers_flattens_results_and_leaves_bookkeeping_out():
    results = {"run": {"commit": "abc", "threads": 2}, "config": {"lr": 1e-3}, "profile": "quick",
               "headline": {"inception_score": 7.9, "classes": 10, "ok": True, "name": "x"},
               "tv": {"banana": {"HMC": 0.05}}, "nan": float("nan")}
    assert seeds.numbers(results) == {"headline/inception_score": 7.9, "headline/classes": 10,
                                      "tv/banana/HMC": 0.05}


def test_spread_reports_each_seed_and_sign_changes():
    out = seeds.spread({0: {"a": 1.0, "b": -1.0}, 1: {"a": 3.0, "b": 2.0}, 2: {"a": 2.0}})
    assert out["a"] == {"per_seed": [1.0, 3.0, 2.0], "n": 3, "mean": 2.0, "min": 1.0, "max": 3.0,
                        "sign_changes": False}
    assert out["b"]["per_seed"] == [-1.0, 2.0, None] and out["b"]["sign_changes"]


def test_run_seeds_moves_the_seed_and_keeps_going_past_a_failure(tmp_path, monkeypatch):
    """Each seed runs in its own results folder with its own seed offset; a notebook that fails
    is recorded and the others still count."""
    from nbclient.exceptions import CellExecutionError

    from ebm_course.instructor import build

    committed = tmp_path / "results"
    committed.mkdir()
    (committed / "02_toy_densities.json").write_text(json.dumps({"score": 1.0}))
    (committed / "03_mnist_ebm.json").write_text(json.dumps({"score": 5.0}))

    def fake_execute(source, target, timeout):
        s = settings.current()
        if source.stem == "03_mnist_ebm" and s.seed_offset == 2:
            raise CellExecutionError("boom", "ValueError", "diverged")
        s.results.mkdir(parents=True, exist_ok=True)
        score = {"02_toy_densities": 1.0, "03_mnist_ebm": 5.0}[source.stem] + s.seed_offset
        (s.results / f"{source.stem}.json").write_text(json.dumps({"score": score}))
        return 0.1

    monkeypatch.setattr(build, "execute_notebook", fake_execute)
    monkeypatch.setattr(build, "scratch_data_root", lambda data, source: data)
    monkeypatch.setattr(seeds.tempfile, "mkdtemp", lambda prefix: str(tmp_path / "scratch"))
    with settings.overridden(EBM_COURSE_RESULTS=str(committed)):
        code = seeds.run_seeds([1, 2], ["02_toy_densities", "03_mnist_ebm"])
    record = json.loads((committed / "seeds.json").read_text())
    assert code == 1 and record["failed"] == ["2/03_mnist_ebm"]
    assert record["values"]["02_toy_densities"]["score"]["per_seed"] == [1.0, 2.0, 3.0]
    assert record["values"]["03_mnist_ebm"]["score"]["per_seed"] == [5.0, 6.0, None]
    assert record["seed_offsets"] == [0, 1, 2]


def test_accuracy_takes_any_network_with_get_logits():
    """One accuracy for the judge, a JEM and an exported network (get_logits only)."""

    class Logits(torch.nn.Module):
        def get_logits(self, x):
            return torch.stack([x.flatten(1).sum(1), -x.flatten(1).sum(1)], 1)

    x = torch.tensor([[1.0], [-1.0], [2.0], [-3.0]]).view(4, 1, 1, 1)
    data = torch.utils.data.TensorDataset(x, torch.tensor([0, 1, 1, 1]))
    assert metrics.accuracy(Logits(), data, batch_size=3) == 0.75


def test_pointers_round_trip_keys_with_slashes():
    results = {"tv": {"banana/HMC/0.2": 0.05, "a~b": 1.0}, "headline": {"x": 2.0}}
    flat = seeds.numbers(results)
    assert flat == {"tv/banana~1HMC~10.2": 0.05, "tv/a~0b": 1.0, "headline/x": 2.0}
    assert seeds.unflatten(flat) == results
    record = {"seed_offsets": [0, 1], "values": {"06": seeds.spread({0: flat, 1: {"headline/x": 3.0}})}}
    assert seeds.seed_results(record, "06") == [(0, results), (1, {"headline": {"x": 3.0}})]


def test_rerunning_some_notebooks_keeps_the_others_spreads(tmp_path, monkeypatch):
    """``make seeds ASSIGNMENTS=07_score_models`` replaces 07's entries and keeps the rest;
    a record with other seed offsets is replaced whole."""
    committed = tmp_path / "results"
    committed.mkdir()
    for name, score in (("02_toy_densities", 1.0), ("07_score_models", 7.0)):
        (committed / f"{name}.json").write_text(json.dumps({"score": score,
                                                            "run": {"id": name}}))
    scratch = tmp_path / "scratch"

    def rerun(names, offsets, bump):
        for offset in offsets:
            folder = scratch / f"seed{offset}" / "results"
            folder.mkdir(parents=True, exist_ok=True)
            for name in names:
                score = json.loads((committed / f"{name}.json").read_text())["score"]
                (folder / f"{name}.json").write_text(json.dumps({"score": score + bump * offset}))
        seconds = {f"{o}/{n}": 1.0 for o in offsets for n in names}
        return seeds.write_record(scratch, offsets, names, [], seconds)

    with settings.overridden(EBM_COURSE_RESULTS=str(committed)):
        rerun(["02_toy_densities", "07_score_models"], [1, 2], bump=1.0)
        rerun(["07_score_models"], [1, 2], bump=10.0)
        record = json.loads((committed / "seeds.json").read_text())
        assert record["values"]["02_toy_densities"]["score"]["per_seed"] == [1.0, 2.0, 3.0]
        assert record["values"]["07_score_models"]["score"]["per_seed"] == [7.0, 17.0, 27.0]
        assert set(record["committed_runs"]) == {"02_toy_densities", "07_score_models"}
        assert sorted(record["seconds"]) == ["1/02_toy_densities", "1/07_score_models",
                                             "2/02_toy_densities", "2/07_score_models"]
        rerun(["07_score_models"], [1], bump=10.0)
        record = json.loads((committed / "seeds.json").read_text())
    assert record["seed_offsets"] == [0, 1] and list(record["values"]) == ["07_score_models"]
