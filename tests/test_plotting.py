"""The training-dynamics figure: read from a CSVLogger's file, one panel per logged quantity, and
a clear message (no crash) when a run was too short to log anything."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from ebm_course import plotting  # noqa: E402


def test_dynamics_has_a_panel_per_logged_quantity_and_the_extras(tmp_path):
    (tmp_path / "metrics.csv").write_text(
        "step,energy_data,energy_model,loss_cd\n0,-1.0,,\n0,,0.5,0.2\n10,-1.5,0.7,0.1\n")
    metrics = plotting.read_metrics(tmp_path)
    assert list(metrics["energy_data"][0]) == [0, 10] and list(metrics["loss_cd"][1]) == [0.2, 0.1]
    fig = plotting.training_dynamics(tmp_path, {"buffer diversity": [(0, 0.8), (50, 0.7)]},
                                     save=tmp_path / "dyn.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert "buffer diversity" in titles and len(titles) >= 2
    assert (tmp_path / "dyn.png").stat().st_size > 0


def test_a_run_that_logged_nothing_gives_a_message_not_a_crash(tmp_path, capsys):
    assert plotting.training_dynamics(tmp_path / "version_0") is None
    assert "nothing was logged" in capsys.readouterr().out
    assert plotting.training_dynamics(tmp_path, {"buffer diversity": []}) is None
