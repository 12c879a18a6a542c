"""The mutation library: wrong and correct implementations of every graded part.

``bugs.py`` / ``alt_correct.py`` and one ``more_<module>.py`` per hidden-check module (``theory``,
``toy``, ``mnist_ebm``, ``glyph_jem``, ``ood``), each defining ``BUGS`` and ``ALT_CORRECT`` as
lists of ``(check, implementation)``. :func:`library` gathers them all.
"""

from __future__ import annotations

import importlib
import pkgutil


def library() -> tuple[list, list]:
    """Every (check, wrong implementation) and (check, correct implementation) pair."""
    bugs, correct = [], []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in ("bugs", "alt_correct") or info.name.startswith("more_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            bugs += getattr(module, "BUGS", [])
            correct += getattr(module, "ALT_CORRECT", [])
    return bugs, correct
