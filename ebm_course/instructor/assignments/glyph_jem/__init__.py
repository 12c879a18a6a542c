"""Assignment unit `glyph_jem` (see the package docstring: one assignment, one place)."""
