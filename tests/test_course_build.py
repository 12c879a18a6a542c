"""The main job keeps going: a notebook that raises, hangs or kills its kernel is saved as far as
it ran and reported, the other notebooks still run, and the report says what failed."""

import json
import os
from pathlib import Path

import nbformat
import pytest

from ebm_course.instructor import build as course_build

CELLS = {
    "a_ok": ["x = 6 * 7", "print('answer', x)"],
    "b_raises": ["print('before')", "raise ValueError('seeded failure')", "print('never')"],
    "c_hangs": ["print('before')", "import time\ntime.sleep(60)"],
    "d_kernel_dies": ["print('before')", "import os\nos._exit(1)"],
    "e_ok": ["print('still runs')"],
}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    for name, cells in CELLS.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        (tmp_path / "course" / name).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "course" / name / f"{name}.ipynb")
    released = []
    monkeypatch.setattr(course_build, "ROOT", tmp_path)
    monkeypatch.setattr(course_build, "assignments", lambda: [*CELLS, "not_run_here"])  # no bench
    monkeypatch.setattr(course_build, "build_release", lambda: released.append(True))
    monkeypatch.setattr(course_build, "results_dir", lambda: tmp_path / "results")
    monkeypatch.setenv("EBM_COURSE_PROFILE", "quick")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "b_raises.json").write_text(json.dumps({"metric": 1.5}))
    return tmp_path, released


def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") + o.get("evalue", "")
                   for c in nb.cells for o in c.get("outputs", []))


def test_failures_are_saved_reported_and_do_not_stop_the_job(scratch, capsys):
    root, released = scratch
    code = course_build.build_course(list(CELLS), timeout=5)
    assert code == 1
    solutions = root / "solutions"
    assert "answer 42" in _outputs(solutions / "a_ok" / "a_ok.ipynb")
    assert "still runs" in _outputs(solutions / "e_ok" / "e_ok.ipynb")  # after three failures
    for name in ("b_raises", "c_hangs", "d_kernel_dies"):  # saved as far as they ran
        assert "before" in _outputs(solutions / name / f"{name}.ipynb"), name
    assert "seeded failure" in _outputs(solutions / "b_raises" / "b_raises.ipynb")
    assert "never" not in _outputs(solutions / "b_raises" / "b_raises.ipynb")
    err = capsys.readouterr()
    assert "failed: b_raises, c_hangs, d_kernel_dies" in err.err
    assert "CellTimeoutError" in err.out and "DeadKernelError" in err.out
    assert released == [True]  # the release is still rebuilt
    timings = json.loads((root / "results" / "course_timings.json").read_text())
    assert {k for k in timings if k.startswith("seconds_")} == {"seconds_a_ok", "seconds_e_ok"}
    assert timings["profile"] == "quick" and timings["machine"]["cpus_usable"] >= 1
    assert set(timings["load_a_ok"]) and "load_b_raises" not in timings  # load of what ran
    report = (root / "results" / "README.md").read_text()
    assert "Failed in this run: b_raises, c_hangs, d_kernel_dies" in report
    assert "## b_raises" in report  # the earlier run's numbers stay, flagged above


def test_a_clean_run_exits_zero_and_reports_no_failure(scratch):
    root, _ = scratch
    assert course_build.build_course(["a_ok", "e_ok"]) == 0
    assert "Failed" not in (root / "results" / "README.md").read_text()


def test_report_lists_an_assignments_figures_by_its_number(tmp_path):
    (tmp_path / "02_toy_densities.json").write_text(json.dumps({"nll": 1.0}))
    for name in ("02_toy_spiral.png", "02_toy_densities_extra.png", "03_other.png"):
        (tmp_path / name).write_bytes(b"png")
    report = course_build.results_report(tmp_path, "quick")
    assert "![02_toy_spiral](02_toy_spiral.png)" in report
    assert "02_toy_densities_extra.png" in report and "03_other.png" not in report


def test_smoke_run_runs_the_full_profile_capped_in_a_scratch_data_root(scratch, monkeypatch):
    """``ebm-course smoke``: every notebook in the full profile with the step cap, its files in a
    scratch data root (never the instructor's checkpoints), a record of times and failures."""
    root, _ = scratch
    probe = ("import os\nfrom ebm_course import config\n"
             "print('profile', config.get_profile(), 'cap', config.step_cap(), "
             "'capped', config.cap_steps(-1), config.cap_steps(2), config.cap_steps(1000))\n"
             "print('data', config.data_root())")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "course" / "a_ok" / "a_ok.ipynb")
    data = root / "instructor_data"
    (data / "checkpoints").mkdir(parents=True)
    (data / "checkpoints" / "metric_classifier_x.pt").write_text("judge")
    (data / "checkpoints" / "04_glyph_jem-full.pt2").write_text("a real run's export")
    monkeypatch.setenv("EBM_COURSE_DATA", str(data))
    code = course_build.smoke_run(["a_ok", "b_raises"], step_cap=7)
    assert code == 1
    record = json.loads((root / "results" / "smoke_full.json").read_text())
    assert record["step_cap"] == 7 and record["failed"] == ["b_raises"]
    assert set(record["seconds"]) == {"a_ok"}
    out = _outputs(Path(record["scratch"]) / "notebooks" / "a_ok.ipynb")
    assert "profile full cap 7 capped 7 2 7" in out
    scratch_data = out.split("data ", 1)[1].strip()
    assert scratch_data != str(data) and scratch_data.startswith(record["scratch"])
    linked = Path(scratch_data) / "checkpoints"
    assert [p.name for p in linked.iterdir()] == ["metric_classifier_x.pt"]  # judges only
    assert os.environ["EBM_COURSE_DATA"] == str(data)  # restored
    assert "EBM_COURSE_STEP_CAP" not in os.environ


def test_step_cap_reads_a_positive_integer(monkeypatch):
    from ebm_course import config

    monkeypatch.delenv("EBM_COURSE_STEP_CAP", raising=False)
    assert config.step_cap() is None and config.cap_steps(-1) == -1 and config.cap_steps(5) == 5
    assert config.cap_length(512, 8) == 512
    for bad in ("0", "-3", "many"):
        monkeypatch.setenv("EBM_COURSE_STEP_CAP", bad)
        with pytest.raises(ValueError, match="EBM_COURSE_STEP_CAP"):
            config.step_cap()
    monkeypatch.setenv("EBM_COURSE_STEP_CAP", "4")
    assert config.cap_length(512, 8) == 8 and config.cap_length(6, 8) == 6  # the grade floor
    monkeypatch.setenv("EBM_COURSE_STEP_CAP", "150")
    assert config.cap_length(512, 8) == 150 and config.cap_length(100, 8) == 100
    monkeypatch.setenv("EBM_COURSE_STEP_CAP", "4")
    from ebm_course.ebm import mnist_ebm_config
    from ebm_course.toy_train import toy_config

    assert mnist_ebm_config("full").max_steps == 4 and mnist_ebm_config("grade").max_steps == 3
    assert toy_config("quick").n_iters_nce == 4 and toy_config("quick").n_iters_equal == 4
    from ebm_course.jem import jem_config
    from ebm_course.mcmc import sampling_config

    jem = jem_config("quick")
    assert jem.max_steps == 4 and 0 < jem.px_start_step < 4  # both phases still run
    full, grade = sampling_config("full"), sampling_config("grade")
    assert full.n_steps == grade.n_steps and full.mnist_long_steps == grade.mnist_long_steps
    assert full.n_chains > grade.n_chains  # counts are kept


def test_saved_samples_are_small_bounded_and_labelled(tmp_path, monkeypatch):
    import torch

    from ebm_course.results import save_samples

    monkeypatch.setenv("EBM_COURSE_RESULTS", str(tmp_path))
    monkeypatch.setenv("EBM_COURSE_PROFILE", "quick")
    x = torch.linspace(-3, 3, 300 * 4).reshape(300, 1, 2, 2).double()
    path = save_samples("s.pt", x, y=torch.arange(300), n_steps=16)
    saved = torch.load(path)
    assert saved["x"].shape == (256, 1, 2, 2) and saved["x"].dtype == torch.float16
    assert saved["x"].min() >= -1 and saved["x"].max() <= 1 and saved["n_steps"] == 16
    assert torch.equal(saved["y"], torch.arange(256))
    assert "y" not in torch.load(save_samples("u.pt", x[:3]))
    monkeypatch.setenv("EBM_COURSE_PROFILE", "grade")
    assert save_samples("g.pt", x) is None and not (tmp_path / "g.pt").exists()


def test_refresh_prose_copies_text_and_refuses_changed_code(tmp_path):
    """``ebm-course prose``: a markdown edit reaches the executed solution with its outputs kept;
    a code edit is refused (it needs a rerun) and leaves the solution as it was."""
    from ebm_course.instructor.build import refresh_prose

    def notebook(text, code):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(text), nbformat.v4.new_code_cell(code)]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i:03d}"
        return nb

    solution = notebook("the old claim", "print(1)")
    solution.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nbformat.write(solution, tmp_path / "sol.ipynb")
    nbformat.write(notebook("the corrected claim", "print(1)"), tmp_path / "src.ipynb")
    assert refresh_prose(tmp_path / "src.ipynb", tmp_path / "sol.ipynb") == 1
    refreshed = nbformat.read(tmp_path / "sol.ipynb", as_version=4)
    assert refreshed.cells[0].source == "the corrected claim"
    assert refreshed.cells[1].outputs[0]["text"] == "1\n"
    nbformat.write(notebook("again", "print(2)"), tmp_path / "src.ipynb")
    with pytest.raises(ValueError, match="rerun"):
        refresh_prose(tmp_path / "src.ipynb", tmp_path / "sol.ipynb")
    assert nbformat.read(tmp_path / "sol.ipynb", as_version=4).cells[0].source == "the corrected claim"


def test_results_hold_one_run_and_say_where_it_came_from(tmp_path, monkeypatch):
    """A new run replaces what an earlier run wrote (a key it no longer writes disappears);
    writes within one run add up; every file records commit, versions, profile, device,
    threads and the sampler's CPU precision."""
    from ebm_course import results

    monkeypatch.setenv("EBM_COURSE_RESULTS", str(tmp_path))
    monkeypatch.setenv("EBM_COURSE_PROFILE", "quick")
    path = results.write_results("99_x", {"stale_key": 1.0, "kept": 2.0})
    monkeypatch.setattr(results, "RUN_ID", "a-later-run")
    results.write_results("99_x", {"kept": 3.0})
    results.write_results("99_x", {"added": 4.0})  # the same run: merged
    data = json.loads(path.read_text())
    assert "stale_key" not in data and data["kept"] == 3.0 and data["added"] == 4.0
    run = data["run"]
    assert run["id"] == "a-later-run" and run["profile"] == "quick"
    assert run["cpu_precision"] in ("bf16", "fp32") and run["torch_threads"] >= 1
    assert run["versions"]["torch"] and run["device"] and "commit" in run
    report = course_build.results_report(tmp_path, "quick")
    assert "torch threads" in report and "| run" not in report
