"""The hidden checks discriminate: seeded bugs fail, other correct implementations pass, and a
hostile implementation (raises, hangs, hogs memory, returns garbage) fails with one clean message.

In-process and fast: the check functions are called directly, no nbgrader. The implementations
live in each assignment's ``variants`` (``BUGS``, ``ALT_CORRECT``), gathered over the registry.
"""

from __future__ import annotations

import pytest
import torch

from ebm_course.instructor.assignments import ASSIGNMENTS
from ebm_course.instructor.assignments.theory import checks as theory
from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import CheckFailed
from ebm_course.instructor.grading.limits import limited


def library() -> tuple[list, list]:
    """Every (check, wrong implementation) and (check, correct implementation) pair of every
    assignment's ``variants``."""
    bugs, correct = [], []
    for assignment in ASSIGNMENTS:
        variants = assignment.part("variants")
        bugs += variants.BUGS
        correct += variants.ALT_CORRECT
    return bugs, correct


BUGS, ALT_CORRECT = library()
SEEDS = range(20)  # a correct answer passes whatever the global random state


def _unit(module: str) -> str:
    """The unit a module belongs to: ``...assignments.<unit>.checks[.<exercise>]``."""
    return module.split("assignments.", 1)[1].split(".")[0]


def _id(pair):
    check, impl = pair
    return f"{_unit(check.__module__)}.{check.__name__[6:]}-{impl.__name__}"


@pytest.mark.parametrize("check, bug", BUGS, ids=[_id(p) for p in BUGS])
def test_seeded_bug_fails_its_check(check, bug):
    torch.manual_seed(0)
    with pytest.raises(AssertionError):
        check(bug)


@pytest.mark.parametrize("check, impl", ALT_CORRECT, ids=[_id(p) for p in ALT_CORRECT])
def test_other_correct_implementation_passes(check, impl):
    torch.manual_seed(0)
    check(impl)


@pytest.mark.slow
@pytest.mark.parametrize("check, impl", ALT_CORRECT, ids=[_id(p) for p in ALT_CORRECT])
def test_correct_implementation_passes_under_every_global_seed(check, impl):
    """A check's verdict must not depend on the order in which a correct answer draws random
    numbers, or on the global generator's state: 20 global seeds, every correct variant."""
    failed = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        try:
            check(impl)
        except AssertionError as err:
            failed.append(f"seed {seed}: {str(err).splitlines()[0][:200]}")
    assert not failed, f"{len(failed)} of {len(SEEDS)} seeds fail a correct answer: {failed[:3]}"


def test_the_library_covers_every_assignment():
    """Every assignment has a wrong and a correct variant for every check it defines."""
    for assignment in ASSIGNMENTS:
        variants, checks = assignment.part("variants"), assignment.part("checks")
        defined = {k for k, v in vars(checks).items() if k.startswith("check_") and callable(v)}
        for library in (variants.BUGS, variants.ALT_CORRECT):
            assert library, assignment.name
            modules = {check.__module__ for check, _ in library}  # checks.py, or checks/*.py
            assert all(m == checks.__name__ or m.startswith(checks.__name__ + ".")
                       for m in modules), f"{assignment.name}: its variants must test its own checks"
            assert all(getattr(checks, check.__name__, None) is check for check, _ in library), (
                f"{assignment.name}: its variants must test the checks its notebook calls")
        wrong = {check.__name__ for check, _ in variants.BUGS}
        assert defined <= wrong, f"{assignment.name}: no wrong variant for {defined - wrong}"


def test_every_check_is_guarded():
    for assignment in ASSIGNMENTS:
        checks = assignment.part("checks")
        found = [v for k, v in vars(checks).items() if k.startswith("check_") and callable(v)]
        assert found, assignment.name
        for check in found:
            assert getattr(check, "guarded", False), (
                f"{assignment.name}: {check.__name__} is not guarded: end the module that defines "
                "it with guard_checks(globals())")


# ---- hostile implementations of one exercise: each fails with a message saying what was expected

def _raises(x, means, stds, weights):
    raise ValueError("student bug")


def _hangs(x, means, stds, weights):
    while True:
        pass


def _swallows_and_hangs(x, means, stds, weights):
    while True:
        try:
            while True:
                pass
        except Exception:  # a student's catch-all must not swallow the time limit
            pass


def _hogs(x, means, stds, weights):
    hog = []
    while True:
        hog.append(torch.ones(2 ** 24))  # 64 MiB each, until the cap stops it


HOSTILE = {
    "raises": (_raises, "raised ValueError: student bug"),
    "hangs": (_hangs, "did not finish within 1 s"),
    "swallows": (_swallows_and_hangs, "did not finish within 1 s"),
    "hogs": (_hogs, "more than the 256 MiB"),
    "nan": (lambda x, m, s, w: torch.full((len(x),), float("nan")), "NaN or inf"),
    "inf": (lambda x, m, s, w: torch.full((len(x),), float("inf")), "NaN or inf"),
    "shape": (lambda x, m, s, w: ref01.gmm_energy(x, m, s, w)[:, None], "expected shape"),
    "dtype": (lambda x, m, s, w: ref01.gmm_energy(x, m, s, w).double(),
              "expected dtype torch.float32"),
    "meta": (lambda x, m, s, w: torch.empty(len(x), device="meta"), "'meta' device"),
    "none": (lambda x, m, s, w: None, "expected a torch.Tensor, got NoneType"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_implementation_fails_cleanly(case, monkeypatch):
    monkeypatch.setenv("EBM_COURSE_CHECK_TIMEOUT_S", "1")
    monkeypatch.setenv("EBM_COURSE_CHECK_MEMORY_MB", "256")
    impl, message = HOSTILE[case]
    with pytest.raises(CheckFailed) as info:
        theory.check_gmm_energy(impl)
    assert message in str(info.value), str(info.value)
    # Raised afresh: no chained exception drags the check's frames (and cases) into a traceback.
    assert info.value.__context__ is None and info.value.__cause__ is None
    theory.check_gmm_energy(ref01.gmm_energy)  # the limits are lifted afterwards


def test_limited_restores_an_outer_timer_and_the_memory_limit():
    import resource
    import signal

    before = resource.getrlimit(resource.RLIMIT_DATA)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's, if any
    with limited(5, 128):
        assert resource.getrlimit(resource.RLIMIT_DATA)[0] != resource.RLIM_INFINITY
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert (left > 0) == (outer_left > 0) and left <= max(outer_left, 0)
