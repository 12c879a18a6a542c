"""Assignment unit `score_models` (see the package docstring: one assignment, one place)."""
