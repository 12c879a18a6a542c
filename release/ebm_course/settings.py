"""Every environment variable the course reads, in one typed object.

This is the only module that reads ``os.environ``. :func:`current` reads it afresh at each call
(cheap: a dozen lookups), on purpose: a notebook kernel sees a variable set with ``%env`` in an
earlier cell, and a test that sets one sees it; what is read is still one object with one
parser per variable, so a value is understood the same way everywhere. Stdlib only: the grading
kernel imports it (through ``instructor/grading/limits.py``) before torch.

| variable | field | meaning |
|---|---|---|
| ``EBM_COURSE_PROFILE`` | ``profile`` | ``quick``, ``full`` or ``grade`` (default: ``grade`` under nbgrader, ``full`` with CUDA, else ``quick``) |
| ``EBM_COURSE_STEP_CAP`` | ``step_cap`` | at most this many training steps per run, long chains shortened alike |
| ``EBM_COURSE_ABLATION_STEPS`` | ``ablation_steps`` | budget of 03's experiments (section 7; 0 skips them) |
| ``EBM_COURSE_DATA`` | ``data`` | dataset root (default ``data/`` of the checkout, or the cache's ``data/``) |
| ``EBM_COURSE_RESULTS`` | ``results`` | where notebooks write results and figures |
| ``EBM_COURSE_CACHE`` | ``cache`` | a student's cache (default ``$XDG_CACHE_HOME/ebm_course``) |
| ``EBM_COURSE_GLYPHS`` | ``glyphs`` | a folder of real glyphs (one sub-folder per class) |
| ``EBM_COURSE_GLYPH_CACHE`` | ``glyph_cache`` | where the synthetic glyph set is cached |
| ``EBM_COURSE_DOWNLOAD`` | ``download`` | ``auto`` (default: when online), ``never`` (``0``, ``no``, ``false``, ``off``) or ``always`` (``1``, ``yes``, ``true``, ``on``) |
| ``EBM_COURSE_ROOT`` | ``root`` | the project checkout (instructor tools) |
| ``EBM_COURSE_CHECK_TIMEOUT_S`` | ``check_timeout_s`` | seconds a hidden check may run (60) |
| ``EBM_COURSE_CHECK_MEMORY_MB`` | ``check_memory_mb`` | MiB a hidden check may add (2048) |
| ``EBM_COURSE_GRADE_MEMORY_MB`` | ``grade_memory_mb`` | MiB a grading kernel may hold (8192; 0: no cap) |
| ``EBM_COURSE_SEED_OFFSET`` | ``seed_offset`` | added to every profile's seed (``make seeds`` reruns the notebooks with 1, 2, ...); default 0 |
| ``OMP_NUM_THREADS`` | ``omp_num_threads`` | torch's threads per process when set (else fitted to the CPUs this process may use) |
| ``NBGRADER_EXECUTION`` | ``under_nbgrader`` | set by nbgrader while it runs a notebook |
| ``XDG_CACHE_HOME`` | ``xdg_cache_home`` | the user's cache folder (default ``~/.cache``) |
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("quick", "full", "grade")
NEVER = ("0", "no", "false", "never", "off")
ALWAYS = ("1", "yes", "true", "always", "on")


class SettingError(ValueError):
    """An environment variable holds a value the course cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    profile: str | None
    step_cap: int | None
    ablation_steps: int | None
    data: Path | None
    results: Path | None
    cache: Path | None
    glyphs: Path | None
    glyph_cache: Path | None
    download: str
    root: Path | None
    check_timeout_s: float
    check_memory_mb: float
    grade_memory_mb: float
    seed_offset: int
    omp_num_threads: int | None
    under_nbgrader: bool
    xdg_cache_home: Path | None


def _text(env, name: str) -> str:
    return env.get(name, "").strip()


def _path(env, name: str) -> Path | None:
    value = _text(env, name)
    return Path(value).expanduser() if value else None


def _count(env, name: str, minimum: int) -> int | None:
    value = _text(env, name)
    if not value:
        return None
    if not value.isdigit() or int(value) < minimum:
        raise SettingError(f"{name}={value!r}: expected an integer >= {minimum}")
    return int(value)


def _number(env, name: str, default: float) -> float:
    value = _text(env, name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise SettingError(f"{name}={value!r}: expected a number") from None


def _choice(env, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = _text(env, name).lower()
    if not value:
        return default
    if value not in choices:
        raise SettingError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def _download(env) -> str:
    value = _text(env, "EBM_COURSE_DOWNLOAD").lower()
    return "never" if value in NEVER else "always" if value in ALWAYS else "auto"


def current(env=None) -> Settings:
    """The settings the environment holds now (``env``: a mapping instead of ``os.environ``).
    A malformed value raises :class:`SettingError` naming the variable."""
    env = os.environ if env is None else env
    return Settings(
        profile=_choice(env, "EBM_COURSE_PROFILE", PROFILES, None),
        step_cap=_count(env, "EBM_COURSE_STEP_CAP", 1),
        ablation_steps=_count(env, "EBM_COURSE_ABLATION_STEPS", 0),
        data=_path(env, "EBM_COURSE_DATA"),
        results=_path(env, "EBM_COURSE_RESULTS"),
        cache=_path(env, "EBM_COURSE_CACHE"),
        glyphs=_path(env, "EBM_COURSE_GLYPHS"),
        glyph_cache=_path(env, "EBM_COURSE_GLYPH_CACHE"),
        download=_download(env),
        root=_path(env, "EBM_COURSE_ROOT"),
        check_timeout_s=_number(env, "EBM_COURSE_CHECK_TIMEOUT_S", 60.0),
        check_memory_mb=_number(env, "EBM_COURSE_CHECK_MEMORY_MB", 2048.0),
        grade_memory_mb=_number(env, "EBM_COURSE_GRADE_MEMORY_MB", 8192.0),
        seed_offset=_count(env, "EBM_COURSE_SEED_OFFSET", 0) or 0,
        omp_num_threads=_count(env, "OMP_NUM_THREADS", 1),
        under_nbgrader=bool(_text(env, "NBGRADER_EXECUTION")),
        xdg_cache_home=_path(env, "XDG_CACHE_HOME"),
    )


def environment(**changes: str | None) -> dict:
    """A copy of this process's environment with ``changes`` (None removes a variable): what a
    child process (a notebook kernel, nbgrader) is started with."""
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@contextlib.contextmanager
def overridden(**changes: str | None):
    """This process's environment with ``changes`` (None removes a variable) for the body, so
    that the kernels and tools it starts inherit them; restored afterwards."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
