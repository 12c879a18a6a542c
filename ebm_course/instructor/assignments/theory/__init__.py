"""Assignment unit `theory` (see the package docstring: one assignment, one place)."""
