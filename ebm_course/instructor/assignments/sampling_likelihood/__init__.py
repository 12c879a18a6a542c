"""Assignment unit `sampling_likelihood` (see the package docstring: one assignment, one place)."""
