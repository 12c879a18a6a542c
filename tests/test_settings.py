"""One settings object: every environment variable parsed in one module, documented once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ebm_course import settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ebm_course"


def _variables_in_docstring() -> set[str]:
    return set(re.findall(r"``((?:EBM_COURSE|NBGRADER|XDG)_[A-Z_]+)``", settings.__doc__))


def test_only_settings_reads_the_environment():
    readers = [p.relative_to(ROOT) for p in PACKAGE.rglob("*.py")
               if p.name != "settings.py" and re.search(r"os\.environ|os\.getenv|getenv\(",
                                                          p.read_text())]
    assert not readers, f"read the environment through ebm_course.settings: {readers}"


def test_every_variable_used_is_a_documented_setting():
    used = set()
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]:
        used |= set(re.findall(r"\bEBM_COURSE_[A-Z_]+\b", path.read_text()))
    documented = _variables_in_docstring()
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    readme = (ROOT / "README.md").read_text()
    missing = [v for v in documented if f"`{v}`" not in readme]
    assert not missing, f"README's settings table lacks {missing}"


def test_values_are_parsed_once_and_bad_ones_named():
    s = settings.current({"EBM_COURSE_PROFILE": " Quick ", "EBM_COURSE_STEP_CAP": "5",
                          "EBM_COURSE_DOWNLOAD": "off", "EBM_COURSE_CHECK_TIMEOUT_S": "2.5"})
    assert (s.profile, s.step_cap, s.download, s.check_timeout_s) == ("quick", 5, "never", 2.5)
    assert settings.current({}).download == "auto" and settings.current({}).profile is None
    for name, bad in (("EBM_COURSE_PROFILE", "fast"), ("EBM_COURSE_STEP_CAP", "0"),
                      ("EBM_COURSE_ABLATION_STEPS", "-1"), ("EBM_COURSE_GRADE_MEMORY_MB", "lots")):
        with pytest.raises(settings.SettingError, match=name):
            settings.current({name: bad})


def test_overridden_restores_the_environment(monkeypatch):
    monkeypatch.setenv("EBM_COURSE_PROFILE", "grade")
    monkeypatch.delenv("EBM_COURSE_STEP_CAP", raising=False)
    with settings.overridden(EBM_COURSE_PROFILE="quick", EBM_COURSE_STEP_CAP="3"):
        assert (settings.current().profile, settings.current().step_cap) == ("quick", 3)
    assert settings.current().profile == "grade" and settings.current().step_cap is None


def test_grading_workers_split_the_cores(monkeypatch):
    from ebm_course.instructor import grade_loop

    monkeypatch.setattr(grade_loop, "cpu_budget", lambda: 8)
    assert [grade_loop.worker_threads(j) for j in (1, 2, 3, 16)] == [8, 4, 2, 1]
