"""Historical-print glyphs: a real glyph folder, or a synthetic letterpress stand-in.

The original scans are not public. :func:`load_glyphs` reads a real set from any folder laid out
one sub-folder per class (``path`` argument or ``EBM_COURSE_GLYPHS``); without one it generates
a deterministic synthetic set: letters rendered from the installed old-style book faces with
letterpress degradation (ink spread and erosion, blur, uneven paper tone, speckle, small
rotation / shift / scale), 56x56 grayscale, dark ink on light paper, 42 classes, 16,171 images,
split 70/15/15 = 11,319 / 2,426 / 2,426. It is generated once (about 20 s on two cores) and
cached as one compressed ``.npz`` under ``config.data_root()/glyphs`` (or
``EBM_COURSE_GLYPH_CACHE``). Images reach the models as float tensors (B, 1, 56, 56) in [-1, 1].

Out-of-distribution sets for chapter 5: :func:`ood_unseen_classes` (the same press, classes
the model never saw: digits and punctuation), :func:`ood_sans_serif` (a modern clean sans-serif
face), :func:`ood_mnist` (handwritten digits, when MNIST is under the data root) and
:func:`ood_uniform_noise`.

CLI: ``python -m ebm_course.glyphs --out DIR [--format npz|png]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from . import settings
from .config import data_root
from .fonts import SANS_FACES, SERIF_FACES, FontMissing, _load_font, available_faces, fonts_digest  # noqa: F401
from .util import atomic_path

IMAGE_SIZE = 56
N_TOTAL = 16_171
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
VERSION = 1  # bump when the rendering changes: the cache file name carries it
# 26 lowercase + 16 uppercase letters. Left out: the capitals whose shape is their lowercase
# letter's, only larger (C K O P S U V W X Z); size alone would be the only cue between them.
CLASSES = tuple("abcdefghijklmnopqrstuvwxyz") + tuple("ABDEFGHIJLMNQRTY")
UNSEEN = tuple("0123456789&?!%")  # same press, classes the model never saw
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}
_S = 2 * IMAGE_SIZE  # render at 2x, degrade, then downsample (smooth, anti-aliased edges)



def class_folder_name(label: str) -> str:
    """A folder name safe on case-insensitive file systems: ``lower_a``, ``upper_A``, ``u0026``."""
    if label.isalpha():
        return ("lower_" if label.islower() else "upper_") + label
    if label.isdigit():
        return "digit_" + label
    return f"u{ord(label):04x}"


def split_sizes(n: int) -> tuple[int, int, int]:
    """Train / val / test sizes for ``n`` images, 70/15/15: ``split_sizes(16171) = (11319, 2426, 2426)``."""
    n_val = n_test = round(n * SPLIT_FRACTIONS[1])
    return n - n_val - n_test, n_val, n_test


def split_indices(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A seeded random 70/15/15 split of ``range(n)`` into sorted index arrays."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_train, n_val, _ = split_sizes(n)
    parts = perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
    return {name: np.sort(p) for name, p in zip(("train", "val", "test"), parts)}


# ----------------------------------------------------------------------------- rendering


def _smooth_field(rng: np.random.Generator, cells: int, size: int = _S) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a ``cells`` x ``cells`` grid upsampled bicubically."""
    grid = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, mode="F").resize((size, size), Image.BICUBIC))


def render_glyph(char: str, rng: np.random.Generator, faces=SERIF_FACES,
                 clean: bool = False) -> np.ndarray:
    """One degraded letterpress glyph.

    Args:
        char: the character to print.
        rng: NumPy generator; every random choice comes from it (determinism).
        faces: (family, weight) pairs to draw the face from.
        clean: a modern print: no ink spread, paper tone or speckle (the shifted OOD source).
    Returns:
        (56, 56) uint8, dark ink on light paper.
    """
    family, weight = faces[rng.integers(len(faces))]
    size = int(0.82 * _S)
    font = _load_font(family, weight, size)
    # Ink mask on a fixed baseline: lowercase letters sit at x-height, capitals are taller.
    mask = Image.new("L", (_S, _S), 0)
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    x0 = _S / 2 - (left + right) / 2
    ImageDraw.Draw(mask).text((x0, 0.73 * _S), char, fill=255, font=font, anchor="ls")
    # Small rotation / scale / shift: one inverse affine map about the centre.
    angle = math.radians(rng.uniform(-4, 4))
    scale = rng.uniform(0.9, 1.1)
    dx, dy = rng.uniform(-5, 5, 2)
    c, s = math.cos(angle) / scale, math.sin(angle) / scale
    cx = cy = _S / 2
    mask = mask.transform((_S, _S), Image.AFFINE,
                          (c, s, cx - c * (cx + dx) - s * (cy + dy),
                           -s, c, cy + s * (cx + dx) - c * (cy + dy)), resample=Image.BILINEAR)
    ink = np.asarray(mask, dtype=np.float32) / 255.0
    if clean:
        paper = np.full((_S, _S), 0.97, np.float32)
        density = 0.95
    else:
        # Ink spread (low threshold) or erosion (high): blur, roughen the edge, re-threshold.
        blurred = np.asarray(mask.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.2))),
                             dtype=np.float32) / 255.0
        rough = 0.08 * _smooth_field(rng, 28) + 0.05 * rng.standard_normal((_S, _S))
        level = rng.uniform(0.3, 0.65)
        ink = 1.0 / (1.0 + np.exp(-(blurred + rough - level) * 14.0))
        # Uneven inking: lighter patches inside the strokes.
        density = rng.uniform(0.72, 0.95) * (1 - 0.15 * np.clip(_smooth_field(rng, 10), 0, 1))
        tone = rng.uniform(0.74, 0.92)
        paper = tone + 0.05 * _smooth_field(rng, 5) + 0.025 * _smooth_field(rng, 24)
    img = paper * (1 - ink * density)
    if not clean:
        # Speckle: a few dark specks of dust / stray ink, a few pale pits in the ink.
        for _ in range(rng.poisson(2.0)):
            y, x = rng.integers(0, _S, 2)
            r = rng.integers(1, 4)
            img[max(0, y - r):y + r, max(0, x - r):x + r] *= rng.uniform(0.3, 0.7)
        pits = rng.random((_S, _S)) < 0.004
        img = np.where(pits, np.maximum(img, 0.85 * paper), img)
    out = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), mode="L")
    out = out.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)
    if not clean:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.7)))
        grain = rng.normal(0, 4.0, (IMAGE_SIZE, IMAGE_SIZE))
        out = Image.fromarray(np.clip(np.asarray(out) + grain, 0, 255).astype(np.uint8), mode="L")
    return np.asarray(out)


def _render_chunk(args) -> np.ndarray:
    chars, seed, start, faces, clean = args
    return np.stack([render_glyph(ch, np.random.default_rng([seed, start + i]), faces, clean)
                     for i, ch in enumerate(chars)])


def render_many(chars: list[str], seed: int = 0, faces=SERIF_FACES, clean: bool = False,
                workers: int | None = None, progress: bool = True,
                desc: str = "glyphs") -> np.ndarray:
    """Render ``chars[i]`` with generator ``[seed, i]``: same output for any number of workers.

    Returns:
        (N, 56, 56) uint8.
    """
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    chunk = 256
    jobs = [(chars[i:i + chunk], seed, i, faces, clean) for i in range(0, len(chars), chunk)]
    bar = tqdm(total=len(chars), desc=desc, disable=not progress, leave=False)
    parts = []
    if workers > 1 and len(jobs) > 1:
        with get_context("spawn" if sys.platform == "darwin" else "fork").Pool(workers) as pool:
            for part in pool.imap(_render_chunk, jobs):
                parts.append(part)
                bar.update(len(part))
    else:
        for job in jobs:
            parts.append(_render_chunk(job))
            bar.update(len(parts[-1]))
    bar.close()
    return np.concatenate(parts) if parts else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


# ----------------------------------------------------------------------------- data sets


@dataclass
class GlyphSet:
    """Images, labels, class names and the train / val / test split of a glyph collection.

    Attributes:
        images: (N, 56, 56) uint8, dark ink on light paper.
        labels: (N,) int64 class indices into ``classes``.
        classes: the class names (characters, or folder names for a real set).
        split: ``{"train", "val", "test"}`` -> sorted index arrays.
        source: where the images came from, for the notebook's run banner.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    split: dict[str, np.ndarray]
    source: str

    def dataset(self, split: str = "train", n: int | None = None, seed: int = 0) -> TensorDataset:
        """A ``TensorDataset(x, y)`` of one split: x (N, 1, 56, 56) in [-1, 1], y (N,) int64.

        Args:
            n: a seeded random subset of this size (None: the whole split).
        """
        idx = self.split[split]
        if n is not None and n < len(idx):
            pick = torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))[:n]
            idx = np.sort(idx[pick.numpy()])
        return TensorDataset(to_tensor(self.images[idx]), torch.as_tensor(self.labels[idx]))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) -> float32 (N, 1, H, W) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div(127.5).sub(1.0).unsqueeze(1)


def generate_glyphs(n_total: int = N_TOTAL, seed: int = 0, workers: int | None = None,
                    progress: bool = True) -> GlyphSet:
    """The synthetic letterpress set: classes in turn (balanced), split 70/15/15 seeded."""
    labels = np.arange(n_total, dtype=np.int64) % len(CLASSES)
    images = render_many([CLASSES[k] for k in labels], seed, workers=workers, progress=progress)
    return GlyphSet(images, labels, list(CLASSES), split_indices(n_total, seed),
                    f"synthetic letterpress glyphs (v{VERSION}, seed {seed})")


def glyph_cache_dir() -> Path:
    """``EBM_COURSE_GLYPH_CACHE`` or ``<data root>/glyphs``."""
    return settings.current().glyph_cache or data_root() / "glyphs"


def _cache_file(cache: Path, n_total: int, seed: int) -> Path:
    return cache / f"synthetic-v{VERSION}-n{n_total}-s{seed}-f{fonts_digest(SERIF_FACES)}.npz"


def save_npz(glyphs: GlyphSet, path: Path) -> None:
    with atomic_path(path, ".tmp.npz") as tmp:  # a half-written cache never looks valid
        np.savez_compressed(tmp, images=glyphs.images, labels=glyphs.labels,
                            classes=np.array(glyphs.classes), source=np.array(glyphs.source),
                            **{f"split_{k}": v for k, v in glyphs.split.items()})


def load_npz(path: Path) -> GlyphSet:
    with np.load(path) as f:
        return GlyphSet(f["images"], f["labels"].astype(np.int64), [str(c) for c in f["classes"]],
                        {k: f[f"split_{k}"] for k in ("train", "val", "test")}, str(f["source"]))


def save_png_folders(glyphs: GlyphSet, out: Path) -> None:
    """Write ``out/<split>/<class folder>/<index>.png``: the layout :func:`load_glyph_folder` reads."""
    for split, idx in glyphs.split.items():
        for i in tqdm(idx, desc=f"png {split}", leave=False):
            folder = out / split / class_folder_name(glyphs.classes[glyphs.labels[i]])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(glyphs.images[i]).save(folder / f"{i:05d}.png")


def synthetic_glyphs(n_total: int = N_TOTAL, seed: int = 0, cache: Path | None = None,
                     progress: bool = True) -> GlyphSet:
    """The synthetic set, from the cache when it is there, else generated and cached."""
    path = _cache_file(Path(cache) if cache else glyph_cache_dir(), n_total, seed)
    if path.exists():
        return load_npz(path)
    glyphs = generate_glyphs(n_total, seed, progress=progress)
    save_npz(glyphs, path)
    return glyphs


def load_glyph_folder(path: str | Path, seed: int = 0, invert: bool = False) -> GlyphSet:
    """A real glyph set: ``path/<class>/*.png`` (any size, colour or gray) -> 56x56 grayscale.

    With sub-folders ``train``, ``val`` (or ``valid``) and ``test`` that each hold class folders,
    those splits are used; otherwise a seeded 70/15/15 split.

    Args:
        path: the folder.
        seed: seeds the split.
        invert: set for light ink on dark paper, so that ink is dark as in the synthetic set.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"glyph folder {root} does not exist")
    split_dirs = {"train": root / "train", "val": root / "val", "test": root / "test"}
    if not split_dirs["val"].is_dir():
        split_dirs["val"] = root / "valid"
    presplit = all(d.is_dir() for d in split_dirs.values())
    parts = split_dirs if presplit else {"all": root}
    classes = sorted({d.name for base in parts.values() for d in base.iterdir() if d.is_dir()})
    if not classes:
        raise FileNotFoundError(f"{root}: expected one sub-folder per class, found none")
    images, labels, origin = [], [], []
    for name, base in parts.items():
        for k, cls in enumerate(classes):
            folder = base / cls
            files = sorted(f for f in folder.iterdir()
                           if f.suffix.lower() in IMAGE_EXTENSIONS) if folder.is_dir() else []
            for f in files:
                with Image.open(f) as im:
                    im = im.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.LANCZOS)
                    images.append(np.asarray(im, dtype=np.uint8))
                labels.append(k)
                origin.append(name)
    if not images:
        raise FileNotFoundError(f"{root}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    images = np.stack(images)
    if invert:
        images = 255 - images
    origin = np.array(origin)
    split = ({k: np.flatnonzero(origin == k) for k in ("train", "val", "test")} if presplit
             else split_indices(len(images), seed))
    return GlyphSet(images, np.array(labels, np.int64), classes, split, f"glyph folder {root}")


def load_glyphs(path: str | Path | None = None, seed: int = 0, progress: bool = True) -> GlyphSet:
    """The course's glyphs: a real folder (``path`` or ``EBM_COURSE_GLYPHS``), else synthetic."""
    path = path or settings.current().glyphs
    if path:
        return load_glyph_folder(path, seed)
    return synthetic_glyphs(seed=seed, progress=progress)


def glyphs_for_profile(profile: str, path: str | Path | None = None,
                       progress: bool = True) -> GlyphSet:
    """The glyphs a notebook uses: the whole set, except under ``grade`` without a cache, where
    a small synthetic set (1,680 images) keeps every cell within the autograder's time limit."""
    if profile == "grade" and not (path or settings.current().glyphs):
        if not _cache_file(glyph_cache_dir(), N_TOTAL, 0).exists():
            return synthetic_glyphs(n_total=40 * len(CLASSES), progress=False)
    return load_glyphs(path, progress=progress)


def glyph_loaders(glyphs: GlyphSet, batch_size: int = 64, n_train: int | None = None,
                  n_val: int | None = None, n_test: int | None = None,
                  seed: int = 0) -> tuple[DataLoader, DataLoader, DataLoader]:
    """Seeded train / val / test loaders (train shuffled with drop_last: full SGLD batches)."""
    g = torch.Generator().manual_seed(seed)
    return (DataLoader(glyphs.dataset("train", n_train, seed), batch_size, shuffle=True,
                       drop_last=True, generator=g),
            DataLoader(glyphs.dataset("val", n_val, seed), 256),
            DataLoader(glyphs.dataset("test", n_test, seed), 256))


try:  # a LightningDataModule for those who prefer trainer.fit(model, datamodule=...)
    import pytorch_lightning as pl

    class GlyphDataModule(pl.LightningDataModule):
        """The glyph splits as a LightningDataModule (in-memory tensors, no workers needed)."""

        def __init__(self, path: str | None = None, batch_size: int = 64,
                     n_train: int | None = None, n_val: int | None = None, seed: int = 0):
            super().__init__()
            self.path, self.batch_size, self.n_train, self.n_val, self.seed = (
                path, batch_size, n_train, n_val, seed)
            self.loaders = None

        def setup(self, stage: str | None = None) -> None:
            if self.loaders is None:
                self.glyphs = load_glyphs(self.path, self.seed)
                self.loaders = glyph_loaders(self.glyphs, self.batch_size, self.n_train,
                                             self.n_val, self.n_val, self.seed)

        def train_dataloader(self):
            return self.loaders[0]

        def val_dataloader(self):
            return self.loaders[1]

        def test_dataloader(self):
            return self.loaders[2]
except ImportError:  # pragma: no cover
    pass


# ----------------------------------------------------------------------------- OOD sets


def _cached_render(name: str, chars: list[str], seed: int, faces, clean: bool,
                   cache: Path | None, progress: bool) -> torch.Tensor:
    path = (Path(cache) if cache else glyph_cache_dir()) / (
        f"ood-{name}-v{VERSION}-n{len(chars)}-s{seed}-f{fonts_digest(tuple(faces))}.npz")
    if path.exists():
        with np.load(path) as f:
            return to_tensor(f["images"])
    images = render_many(chars, seed, faces, clean, progress=progress, desc=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=images)
    return to_tensor(images)


def ood_unseen_classes(n: int = 1000, seed: int = 1, cache: Path | None = None,
                       progress: bool = True) -> torch.Tensor:
    """Same press and faces, classes never trained on (digits, & ? ! %): (n, 1, 56, 56)."""
    chars = [UNSEEN[i % len(UNSEEN)] for i in range(n)]
    return _cached_render("unseen", chars, seed, SERIF_FACES, False, cache, progress)


def ood_sans_serif(n: int = 1000, seed: int = 2, cache: Path | None = None,
                   progress: bool = True) -> torch.Tensor:
    """The same 42 letters in a modern sans-serif face, cleanly printed: (n, 1, 56, 56)."""
    chars = [CLASSES[i % len(CLASSES)] for i in range(n)]
    return _cached_render("sans", chars, seed, SANS_FACES, True, cache, progress)


def ood_mnist(n: int = 1000, seed: int = 3, root: str | Path | None = None) -> torch.Tensor | None:
    """MNIST test digits resized to 56x56, inverted to dark ink on light paper; None if absent."""
    from .data import DatasetNotFound, load_mnist_family

    try:
        ds = load_mnist_family("MNIST", train=False, root=root, download=False)
    except (DatasetNotFound, RuntimeError):
        return None
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n]
    x = ds.tensors[0][idx]  # (n, 1, 28, 28), white ink on black
    x = torch.nn.functional.interpolate(x, size=IMAGE_SIZE, mode="bilinear", align_corners=False)
    return -x  # dark ink on light paper, like the glyphs


def ood_uniform_noise(n: int = 1000, seed: int = 4) -> torch.Tensor:
    """Uniform noise U(-1, 1), (n, 1, 56, 56)."""
    return torch.rand((n, 1, IMAGE_SIZE, IMAGE_SIZE), generator=torch.Generator().manual_seed(seed)) * 2 - 1


def main(argv: list[str] | None = None) -> int:
    """CLI: generate (or export) the synthetic glyph set."""
    parser = argparse.ArgumentParser(prog="python -m ebm_course.glyphs", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="output folder (default: the glyph cache)")
    parser.add_argument("--format", choices=("npz", "png"), default="npz",
                        help="npz: the cache file; png: <out>/<split>/<class>/<i>.png folders")
    parser.add_argument("--n-total", type=int, default=N_TOTAL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else glyph_cache_dir()
    import time

    start = time.perf_counter()
    if args.format == "npz":
        path = _cache_file(out, args.n_total, args.seed)
        if path.exists() and not args.force:
            print(f"glyph set already cached at {path} (--force regenerates it)")
            return 0
        glyphs = generate_glyphs(args.n_total, args.seed, args.workers)
        save_npz(glyphs, path)
    else:
        glyphs = generate_glyphs(args.n_total, args.seed, args.workers)
        save_png_folders(glyphs, out)
        path = out
    sizes = {k: len(v) for k, v in glyphs.split.items()}
    print(f"{len(glyphs.images)} glyphs, {len(glyphs.classes)} classes, split {sizes} -> {path} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
