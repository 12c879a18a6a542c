"""The main job keeps going: a notebook that raises, hangs or kills its kernel is saved as far as
it ran and reported, the other notebooks still run, and the report says what failed."""

import json

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
    assert set(timings) == {"profile", "seconds_a_ok", "seconds_e_ok"}
    report = (root / "results" / "README.md").read_text()
    assert "Failed in this run: b_raises, c_hangs, d_kernel_dies" in report
    assert "## b_raises" in report  # the earlier run's numbers stay, flagged above


def test_a_clean_run_exits_zero_and_reports_no_failure(scratch):
    root, _ = scratch
    assert course_build.build_course(["a_ok", "e_ok"]) == 0
    assert "Failed" not in (root / "results" / "README.md").read_text()
