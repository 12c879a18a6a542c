"""Export / load of trained networks (notebook 4 -> notebook 5), in both package editions."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ebm_course import export, jem, ood
from ebm_course.instructor.assignments.ood import reference as ref05
from ebm_course.instructor.release import student_package

from .reference_models import GlyphCNN


def test_export_round_trip_keeps_logits_gradients_and_meta(tmp_path):
    torch.manual_seed(0)
    net = jem.make_net(jem.jem_config("grade"), GlyphCNN)
    path = export.export_net(net, tmp_path / "n.pt2", {"test_accuracy": 0.5})
    back = export.load_exported(path)
    assert back.meta == {"in_channels": 1, "image_size": 56, "test_accuracy": 0.5}
    x = torch.rand(5, 1, 56, 56) * 2 - 1  # another batch size than the export's example
    assert torch.allclose(back.get_logits(x), net.get_logits(x), atol=1e-5)
    back.eval()  # an exported program refuses eval() itself
    got = ood.batched_scores(ref05.grad_norm_score, back, x)
    want = ood.batched_scores(ref05.grad_norm_score, net, x)
    assert got.shape == (5,) and torch.allclose(torch.tensor(got), torch.tensor(want), atol=1e-5)


def test_load_trained_prefers_a_matching_export(tmp_path, monkeypatch):
    monkeypatch.setenv("EBM_COURSE_DATA", str(tmp_path))
    cfg = jem.jem_config("grade")
    net = jem.make_net(cfg, GlyphCNN)
    from dataclasses import asdict

    export.export_net(net, export.export_path("04_glyph_jem", "grade"), {"config": asdict(cfg)})
    loaded, how = jem.load_trained("04_glyph_jem", cfg, "grade")
    assert isinstance(loaded, export.ExportedNet) and "loaded" in how and "differ" not in how
    # The grade profile never trains: without an export an untrained stand-in says so.
    stand_in, how = jem.load_trained("05_classifier", cfg, "grade")
    assert "untrained" in how and stand_in.get_logits(torch.zeros(2, 1, 56, 56)).shape == (2, 42)
    with pytest.raises(FileNotFoundError, match="run assignment 4"):
        jem.load_trained("05_classifier", cfg, "quick")


# What a student runs: the release's package (no graded bodies) alone, the instructor's
# editable install hidden (as in test_release's student-install test).
_STUDENT = """\
import sys
sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()
                    and 'editable' not in getattr(f, '__module__', '').lower()]
import torch
import ebm_course
from ebm_course import jem, ood
import importlib.util
assert ebm_course.__file__.startswith({site!r}), ebm_course.__file__
assert importlib.util.find_spec("ebm_course.instructor") is None
net, how = jem.load_trained("04_glyph_jem", jem.jem_config("quick"), "quick")
print(how)
x = torch.rand(3, 1, 56, 56) * 2 - 1
score = lambda net, x: net.get_logits(x).logsumexp(1)
print(ood.batched_scores(score, net, x).shape)
try:
    jem.load_trained("05_classifier", jem.jem_config("quick"), "quick")
except FileNotFoundError as err:
    print("missing:", err)
"""


def test_student_edition_loads_an_export_and_says_run_04_first(tmp_path):
    site = tmp_path / "site"
    student_package(site)
    data = tmp_path / "data"
    net = jem.make_net(jem.jem_config("grade"), GlyphCNN)  # the student's net, notebook 4
    export.export_net(net, data / "checkpoints" / "04_glyph_jem-grade.pt2", {"config": {}})
    out = subprocess.run([sys.executable, "-c", _STUDENT.format(site=str(site))], cwd=tmp_path,
                         capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
                              "EBM_COURSE_DATA": str(data), "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert "04_glyph_jem-grade.pt2" in lines[0] and "another profile" in lines[0], lines
    assert lines[1] == "(3,)"
    assert lines[2].startswith("missing:") and "run assignment 4" in lines[2], lines


def test_06_finds_the_students_export_first_then_the_shipped_model(tmp_path, monkeypatch):
    """03 -> 06 without a wall: the student's own export in this profile, else another
    profile's, else the model the hand-out ships (models/), else the grade stand-in or a clear
    error; the first cell can say which before any work is done."""
    from ebm_course import config, mcmc
    from ebm_course.export import export_path

    monkeypatch.setenv("EBM_COURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(config, "course_root", lambda: tmp_path / "course")
    assert mcmc.find_mnist_ebm("quick")[0] is None
    assert "untrained" in mcmc.find_mnist_ebm("grade")[1]
    with pytest.raises(FileNotFoundError, match="run assignment 3"):
        mcmc.load_mnist_ebm("quick")
    shipped = tmp_path / "course" / "models" / "03_mnist_ebm.pt2"
    shipped.parent.mkdir(parents=True)
    shipped.write_bytes(b"")
    found, how = mcmc.find_mnist_ebm("quick")
    assert found == shipped and "shipped model" in how
    own = export_path("03_mnist_ebm", "full")
    own.parent.mkdir(parents=True)
    own.write_bytes(b"")
    assert mcmc.find_mnist_ebm("quick")[0] == own  # another profile's, but the student's
    mine = export_path("03_mnist_ebm", "quick")
    mine.write_bytes(b"")
    assert mcmc.find_mnist_ebm("quick") == (mine, mcmc.find_mnist_ebm("quick")[1])
    assert "your export" in mcmc.find_mnist_ebm("quick")[1]
