"""Where the course project lives, for the instructor tools.

The instructor package works on a checkout of the project (``course/``, ``release/``,
``solutions/``, ``results/``). ``EBM_COURSE_ROOT`` names it; otherwise the checkout this package
was installed from (an editable install); otherwise the nearest folder above the working
directory that holds ``nbgrader_config.py`` and the package's ``instructor/assignments``.
"""

from __future__ import annotations

from pathlib import Path

from ..settings import current


def _is_project(folder: Path) -> bool:
    return ((folder / "nbgrader_config.py").is_file()
            and (folder / "ebm_course" / "instructor" / "assignments").is_dir())


def project_root() -> Path:
    """The project checkout (see the module docstring); raises if there is none."""
    env = current().root
    if env:
        root = env.resolve()
        if not _is_project(root):
            raise FileNotFoundError(f"EBM_COURSE_ROOT={env}: no nbgrader_config.py and "
                                    "ebm_course/instructor/assignments there")
        return root
    checkout = Path(__file__).resolve().parents[2]
    if _is_project(checkout):
        return checkout
    for folder in (Path.cwd(), *Path.cwd().parents):
        if _is_project(folder):
            return folder
    raise FileNotFoundError("no course project found: run from a checkout (a folder with "
                            "nbgrader_config.py and ebm_course/instructor/assignments) or set "
                            "EBM_COURSE_ROOT")


ROOT = project_root()
