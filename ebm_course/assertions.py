"""Failed ``assert`` statements in a notebook say what the student's code returned.

A visible test such as ``assert torch.allclose(gmm_energy(x, ...), want), "a standard 2D Gaussian
has E(x) = ..."`` tells a student what was expected but not what their function gave. pytest
answers this by rewriting asserts; :class:`ExplainAsserts` does the same for a notebook kernel
(an IPython AST transformer, installed by :func:`install`, which ``config.run_banner`` calls in
every notebook's first cell, the grading kernel's included):

* each call of a plain function that is not a builtin (``gmm_energy(...)``, ``ula_chain(...)``)
  inside an assert's condition is wrapped so that its return value is remembered as it passes
  through (the call runs once, exactly as written; nothing is re-run to explain a failure);
* when the condition is false, the message gets a line per remembered call (``gmm_energy(x, ...)
  returned tensor([...])``) and per variable the condition reads (``tv = 0.51``), shapes and
  dtypes included, each cut to a few hundred characters.

A passing assert costs a dictionary write per wrapped call. Anything that goes wrong while
explaining is swallowed: the assertion still fails with its own message.
"""

from __future__ import annotations

import ast
import builtins
import copy
import types

# Single leading underscores: a double one would be name-mangled inside a class body.
_RECORDER = "_ebm_course_recorder"
_REC = "_ebm_course_returned"
_EXPLAIN = "_ebm_course_explain"
_MAX_CHARS = 300
_MISSING = object()


def describe(value) -> str:
    """A short, informative repr: tensors and arrays with shape and dtype."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            flags = ", requires_grad=True" if value.requires_grad else ""
            body = repr(value.detach()) if value.numel() <= 64 else (
                f"tensor({value.detach().flatten()[:8].tolist()} ...)")
            text = f"{body} (shape {tuple(value.shape)}, {value.dtype}{flags})"
        else:
            text = repr(value)
    except Exception:  # an object whose repr fails
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + " ..."


class _Recorder:
    def __init__(self) -> None:
        self.returned: list[tuple[str, object]] = []

    def __call__(self, value, source: str):
        self.returned.append((source, value))
        return value


def _explain(message, recorder: _Recorder, scope: dict, names: list[str]) -> str:
    lines = [] if message is None else [str(message)]
    try:
        for source, value in recorder.returned:
            lines.append(f"  {source} returned {describe(value)}")
        for name in names:
            value = scope.get(name, _MISSING)
            if value is _MISSING or isinstance(value, types.ModuleType) or callable(value):
                continue
            lines.append(f"  {name} = {describe(value)}")
    except Exception:
        pass
    return "\n".join(lines)


class ExplainAsserts(ast.NodeTransformer):
    """Rewrites ``assert test, msg`` into a block that records what the test's calls returned
    and, when ``test`` is false, raises ``AssertionError`` with ``msg`` and those values."""

    def visit_Assert(self, node: ast.Assert):
        try:
            return self._rewrite(node)
        except Exception:  # never break a cell: leave the assert as written
            return node

    def _rewrite(self, node: ast.Assert):
        rec = ast.Name(id=_REC, ctx=ast.Load())
        test = _WrapCalls(rec).visit(copy.deepcopy(node.test))
        names = sorted({n.id for n in ast.walk(node.test)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                        and not hasattr(builtins, n.id)})
        scope = ast.Dict(keys=[None, None], values=[
            ast.Call(ast.Name("globals", ast.Load()), [], []),
            ast.Call(ast.Name("locals", ast.Load()), [], [])])
        message = node.msg if node.msg is not None else ast.Constant(None)
        explained = ast.Call(ast.Name(_EXPLAIN, ast.Load()), [
            message, rec, scope, ast.List([ast.Constant(n) for n in names], ast.Load())], [])
        fail = ast.Raise(exc=ast.Call(ast.Name("AssertionError", ast.Load()), [explained], []),
                         cause=None)
        make = ast.Assign(targets=[ast.Name(_REC, ast.Store())],
                          value=ast.Call(ast.Name(_RECORDER, ast.Load()), [], []))
        check = ast.If(test=ast.UnaryOp(ast.Not(), test), body=[fail], orelse=[])
        return [ast.fix_missing_locations(ast.copy_location(stmt, node)) for stmt in (make, check)]


class _WrapCalls(ast.NodeTransformer):
    """``f(args)`` -> ``recorder(f(args), "f(args)")`` for plain, non-builtin function names."""

    def __init__(self, recorder: ast.Name) -> None:
        self.recorder = recorder

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
            source = ast.unparse(node)
            source = source if len(source) <= 80 else source[:77] + "..."
            return ast.Call(func=self.recorder, args=[node, ast.Constant(source)], keywords=[])
        return node

    def visit_Lambda(self, node: ast.Lambda):
        return node  # a call inside a lambda runs later, if at all

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda


def ipython_shell(shell=None):
    """``shell``, else the running IPython shell; None outside IPython."""
    if shell is not None:
        return shell
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def install(shell=None) -> bool:
    """Add :class:`ExplainAsserts` to the running IPython kernel (once); False outside IPython."""
    shell = ipython_shell(shell)
    if shell is None:
        return False
    shell.user_ns[_RECORDER] = _Recorder
    shell.user_ns[_EXPLAIN] = _explain
    if not any(isinstance(t, ExplainAsserts) for t in shell.ast_transformers):
        shell.ast_transformers.append(ExplainAsserts())
    return True
