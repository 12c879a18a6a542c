"""DeepEnergyModel and JEM under Lightning DDP: 2 CPU processes, a buffer per rank, synced
weights and metrics."""

import json
import sys

import pytest

from .conftest import ROOT, run


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ebm", "jem"])
def test_ddp_two_cpu_processes(tmp_path, kind):
    run([sys.executable, str(ROOT / "tests" / "ddp_fit.py"), str(tmp_path), kind], cwd=ROOT,
        env={"PL_DISABLE_FORK": "1"}, timeout=600)
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["world_size"] == r1["world_size"] == 2
    # Each rank samples its own chains into its own buffer (3 steps x 16 chains).
    assert r0["n_filled"] == r1["n_filled"] == 48
    assert r0["buffer_sum"] != r1["buffer_sum"]
    # DDP all-reduces gradients: the weights stay identical; sync_dist makes metrics agree.
    assert abs(r0["weight_sum"] - r1["weight_sum"]) < 1e-4
    assert abs(r0["metric"] - r1["metric"]) < 1e-5
