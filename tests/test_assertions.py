"""A failed assert in a notebook says what the student's code returned."""

from __future__ import annotations

import ast

import pytest
import torch

from ebm_course import assertions


def run_cell(code: str, ns: dict) -> None:
    """Execute ``code`` as the kernel would after :func:`assertions.install`."""
    tree = assertions.ExplainAsserts().visit(ast.parse(code))
    ns.setdefault(assertions._RECORDER, assertions._Recorder)
    ns.setdefault(assertions._EXPLAIN, assertions._explain)
    exec(compile(ast.fix_missing_locations(tree), "<cell>", "exec"), ns)


def wrong_energy(x):
    return -x.pow(2).sum(1) / 2  # a sign error


def test_a_failed_assert_shows_what_each_call_returned_and_each_variable():
    ns = {"torch": torch, "gmm_energy": wrong_energy, "calls": []}
    code = ("x = torch.tensor([[1.0, -1.0]])\n"
            "assert torch.allclose(gmm_energy(x), x.pow(2).sum(1) / 2), 'E(x) = ||x||^2 / 2'\n")
    with pytest.raises(AssertionError) as err:
        run_cell(code, ns)
    text = str(err.value)
    assert text.startswith("E(x) = ||x||^2 / 2")
    assert "gmm_energy(x) returned tensor([-1.]) (shape (1,), torch.float32)" in text
    assert "x = tensor([[ 1., -1.]])" in text
    assert "torch =" not in text and "gmm_energy =" not in text  # modules and functions: no


def test_the_call_runs_once_and_a_passing_assert_is_silent():
    calls = []

    def counted(v):
        calls.append(v)
        return v

    ns = {"f": counted}
    run_cell("assert f(3) == 3\nassert f(4) == 4, 'four'\n", ns)
    assert calls == [3, 4]
    with pytest.raises(AssertionError) as err:
        run_cell("assert f(5) == 6\n", ns)
    assert calls == [3, 4, 5] and "f(5) returned 5" in str(err.value)


def test_asserts_inside_functions_and_classes_see_their_own_scope():
    code = ("def check(v):\n"
            "    local = v * 2\n"
            "    assert local == 3, 'local should be 3'\n"
            "class Case:\n"
            "    def run(self):\n"
            "        assert f(1) == 2\n"
            "f = lambda v: v\n")
    ns = {}
    run_cell(code, ns)
    with pytest.raises(AssertionError, match="local = 4"):
        ns["check"](2)
    with pytest.raises(AssertionError):
        ns["Case"]().run()


def test_big_tensors_and_broken_reprs_are_cut_not_fatal():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    ns = {"big": torch.zeros(1000, requires_grad=True), "odd": Broken()}
    with pytest.raises(AssertionError) as err:
        run_cell("assert big.sum() > 0 and odd is None, 'boom'\n", ns)
    text = str(err.value)
    assert "shape (1000,)" in text and "requires_grad=True" in text and "<Broken>" in text


def test_install_adds_the_transformer_once_to_an_ipython_shell():
    class Shell:
        user_ns: dict = {}
        ast_transformers: list = []

    shell = Shell()
    assert assertions.install(shell) and assertions.install(shell)
    assert len(shell.ast_transformers) == 1
    assert assertions.install(None) is False  # outside IPython: nothing to do


@pytest.mark.slow
def test_in_a_notebook_kernel_after_the_banner(tmp_path):
    """What a student sees: the first cell prints the banner, a later test cell fails."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from ebm_course import config\nprint(config.run_banner())"),
        nbformat.v4.new_code_cell("def ula_chain(x):\n    return x + 1\n"
                                  "assert ula_chain(1) == 1, 'expected the start back'")])
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    assert "expected the start back" in str(err.value)
    assert "ula_chain(1) returned 2" in str(err.value)
