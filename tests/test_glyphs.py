"""Glyph data: the synthetic generator (deterministic, sizes, split), the folder loader, OOD sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ebm_course import glyphs as G


def test_split_sizes_of_the_full_set():
    assert G.split_sizes(G.N_TOTAL) == (11_319, 2_426, 2_426)
    split = G.split_indices(G.N_TOTAL, seed=0)
    assert [len(split[k]) for k in ("train", "val", "test")] == [11_319, 2_426, 2_426]
    assert len(np.unique(np.concatenate(list(split.values())))) == G.N_TOTAL  # a partition
    assert not np.array_equal(split["test"], G.split_indices(G.N_TOTAL, seed=1)["test"])


def test_classes():
    assert len(G.CLASSES) == 42 and len(set(G.CLASSES)) == 42
    assert not set(G.UNSEEN) & set(G.CLASSES)
    names = [G.class_folder_name(c) for c in G.CLASSES]
    assert len({n.lower() for n in names}) == 42  # safe on case-insensitive file systems


def test_generator_is_deterministic_and_worker_independent():
    a = G.generate_glyphs(n_total=84, seed=3, workers=1, progress=False)
    b = G.generate_glyphs(n_total=84, seed=3, workers=2, progress=False)
    assert a.images.shape == (84, 56, 56) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert [len(a.split[k]) for k in ("train", "val", "test")] == list(G.split_sizes(84))
    assert np.bincount(a.labels).tolist() == [2] * 42
    c = G.generate_glyphs(n_total=84, seed=4, workers=1, progress=False)
    assert not np.array_equal(a.images, c.images)
    # Dark ink on light paper, not blank: the paper is light and some pixels are inked.
    assert np.median(a.images) > 150 and (a.images.reshape(84, -1).min(1) < 110).all()


def test_dataset_tensors_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EBM_COURSE_GLYPH_CACHE", str(tmp_path))
    g = G.synthetic_glyphs(n_total=42, seed=0, progress=False)
    assert list(tmp_path.glob("synthetic-*.npz"))
    again = G.synthetic_glyphs(n_total=42, seed=0, progress=False)  # from the cache
    assert np.array_equal(g.images, again.images) and again.classes == list(G.CLASSES)
    x, y = g.dataset("train").tensors
    assert x.shape[1:] == (1, 56, 56) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() >= -1 and x.max() <= 1


def test_real_folder_loader_and_png_export(tmp_path, monkeypatch):
    # A tiny real-looking folder: odd sizes, RGB and gray, two classes.
    rng = np.random.default_rng(0)
    for cls, n in (("alpha", 7), ("beta", 5)):
        (tmp_path / "real" / cls).mkdir(parents=True)
        for i in range(n):
            mode, shape = ("RGB", (40, 31, 3)) if i % 2 else ("L", (70, 90))
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(
                tmp_path / "real" / cls / f"{i}.png")
    g = G.load_glyph_folder(tmp_path / "real")
    assert g.images.shape == (12, 56, 56) and g.classes == ["alpha", "beta"]
    assert np.bincount(g.labels).tolist() == [7, 5]
    assert sum(len(v) for v in g.split.values()) == 12
    monkeypatch.setenv("EBM_COURSE_GLYPHS", str(tmp_path / "real"))
    assert G.load_glyphs().source.startswith("glyph folder")
    # Exported synthetic PNG folders (with train/val/test) round-trip through the loader.
    synth = G.generate_glyphs(n_total=42, seed=0, workers=1, progress=False)
    G.save_png_folders(synth, tmp_path / "png")
    back = G.load_glyph_folder(tmp_path / "png")
    assert len(back.classes) == 42 and len(back.images) == 42
    assert {k: len(v) for k, v in back.split.items()} == {k: len(v) for k, v in synth.split.items()}
    with pytest.raises(FileNotFoundError):
        G.load_glyph_folder(tmp_path / "missing")


def test_ood_sets(tmp_path):
    unseen = G.ood_unseen_classes(20, cache=tmp_path, progress=False)
    sans = G.ood_sans_serif(20, cache=tmp_path, progress=False)
    noise = G.ood_uniform_noise(20)
    for x in (unseen, sans, noise):
        assert x.shape == (20, 1, 56, 56) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(unseen, G.ood_unseen_classes(20, cache=tmp_path, progress=False))


def test_cli_writes_npz(tmp_path):
    assert G.main(["--out", str(tmp_path), "--n-total", "42", "--workers", "1"]) == 0
    (path,) = tmp_path.glob("synthetic-*.npz")
    assert G.load_npz(path).images.shape == (42, 56, 56)


def test_a_missing_face_is_an_error_naming_its_package(monkeypatch):
    """No silent substitute: a face that is not installed stops the renderer with the pip
    package that provides it (a fallback face would render another glyph set)."""
    from ebm_course import fonts

    G._load_font.cache_clear()
    with pytest.raises(G.FontMissing, match="pip install fontpkg-no-such-face"):
        fonts._font_file("no-such-face", 400)
    with pytest.raises(G.FontMissing, match="fontpkg-no-such-face"):
        G.render_many(["a"], 0, (("no-such-face", 400),), False, progress=False)


def test_the_cache_name_follows_the_font_files(tmp_path, monkeypatch):
    """The glyph cache is keyed on the font files' contents: other bytes, another cache file."""
    from ebm_course import fonts

    faces = (("eb-garamond", 460),)
    before = G.fonts_digest(faces)
    assert f"-f{G.fonts_digest(G.SERIF_FACES)}.npz" in G._cache_file(tmp_path, 10, 0).name
    real, _ = fonts._font_file(*faces[0])
    changed = tmp_path / "changed.ttf"
    changed.write_bytes(open(real, "rb").read() + b"\0")
    monkeypatch.setattr(fonts, "_font_file", lambda family, weight: (str(changed), False))
    G.fonts_digest.cache_clear()
    try:
        assert G.fonts_digest(faces) != before
    finally:
        G.fonts_digest.cache_clear()
