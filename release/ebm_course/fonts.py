"""The type faces of the synthetic letterpress glyphs (``ebm_course.glyphs``).

The faces come from PyPI's ``fontpkg-*`` packages, dependencies of ``ebm_course``. A missing
face is an error naming its package, never a silent substitute: another face would render
another glyph set under the same name. :func:`fonts_digest` hashes the font files so that
every glyph cache file names the fonts it was rendered with.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# Old-style book faces (family, weight): variable faces at a printing weight, never hairline.
SERIF_FACES = (("eb-garamond", 460), ("eb-garamond", 560), ("cardo", 400), ("cardo", 700),
               ("cormorant-garamond", 600), ("cormorant-garamond", 700),
               ("libre-baskerville", 400), ("crimson-text", 400), ("crimson-text", 600))
SANS_FACES = (("open-sans", 450),)  # the OOD face


class FontMissing(FileNotFoundError):
    """A face the glyph renderer needs is not installed (the set would silently differ)."""


def _font_file(family: str, weight: int) -> tuple[str, bool]:
    """Path of an installed fontpkg face and whether it is a variable font. No fallback: a
    substitute face would render another glyph set under the same name."""
    try:
        import fontpkg
    except ImportError as err:
        raise FontMissing("the glyph renderer needs `fontpkg` and the course's faces; they are "
                          "dependencies of ebm_course: reinstall it (pip install -e .)") from err
    try:
        chosen = fontpkg.select_file(fontpkg.family(family), fontpkg.normalize_weight(weight),
                                     fontpkg.normalize_style("normal"), True)
    except fontpkg.FontpkgError as err:
        raise FontMissing(f"the glyph face {family!r} (weight {weight}) is not installed: "
                          f"pip install fontpkg-{family} (a dependency of ebm_course)") from err
    return str(chosen.path), bool(chosen.variable)


@lru_cache(maxsize=None)
def fonts_digest(faces: tuple = SERIF_FACES) -> str:
    """A short hash of the font files ``faces`` render with: part of every glyph cache file's
    name, so that a cache made with other font files is never read as this set."""
    digest = hashlib.sha256()
    for path in sorted({_font_file(family, weight)[0] for family, weight in faces}):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:10]


@lru_cache(maxsize=None)
def _load_font(family: str, weight: int, size: int) -> ImageFont.FreeTypeFont:
    path, variable = _font_file(family, weight)
    font = ImageFont.truetype(path, size)
    if variable:  # set the weight axis; other axes (width) stay at their defaults
        values = []
        for axis in font.get_variation_axes():
            name = axis["name"].decode() if isinstance(axis["name"], bytes) else axis["name"]
            values.append(float(weight) if name.lower() in ("weight", "wght") else axis["default"])
        font.set_variation_by_axes(values)
    return font


def available_faces(faces=SERIF_FACES) -> list[str]:
    """The font files the renderer will use for ``faces``."""
    return [Path(_font_file(f, w)[0]).name + f"@{w}" for f, w in faces]
