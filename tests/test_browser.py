"""A student's first session, in a real browser: install, open, run, fill, test, Validate.

The student's environment is built the way `pip install .` in `release/` builds it: a fresh
virtual environment into which the release is pip-installed (its package and its JupyterLab
settings, `etc/jupyter/...`), with the third-party libraries of this environment made visible
through a plain path entry (so the instructor's editable install, a `.pth` hook, never loads).
JupyterLab runs on a free local port; headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) opens assignment 1, runs its first cell, runs a blank
exercise's test (the error must name the exercise), fills the exercise, runs its test (it must
say it passed) and clicks Validate (the dialog must list the unfinished exercises, not this
one). The screenshot of the dialog is saved beside the results.

Skipped, saying why, where Chromium or chromedriver is not installed (`make test` installs
them with apt-get when it can).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no browser: install Debian's chromium and chromium-driver (make test does with "
           "apt-get where it can)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def student_environment(base: Path) -> tuple[Path, Path]:
    """A fresh venv with release/ pip-installed into it; returns (venv, the release copy)."""
    venv, release = base / "venv", base / "release"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    libraries = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "course_libraries.pth").write_text("\n".join(libraries) + "\n")
    shutil.copytree(ROOT / "release", release)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", str(release)],
                   check=True, capture_output=True)
    # What pip puts into a student's prefix for the libraries themselves: JupyterLab's assets
    # and the server extensions' switches (nbgrader.json turns all of nbgrader's on; the
    # release's zz_ebm_course_student.json, installed above, turns the instructor's off).
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    conf = venv / "etc" / "jupyter" / "jupyter_server_config.d"
    conf.mkdir(parents=True, exist_ok=True)
    for switch in (Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d").glob("*.json"):
        shutil.copy(switch, conf / switch.name)
    return venv, release


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    venv, release = student_environment(base)
    assert json.loads((venv / "etc" / "jupyter" / "labconfig" / "page_config.json").read_text())
    port, token = _free_port(), "ebm-course-test"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "EBM_COURSE"))}
    env.update({"HOME": str(base / "home"), "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
                "EBM_COURSE_DOWNLOAD": "0", "EBM_COURSE_CACHE": str(base / "cache"),
                "EBM_COURSE_DATA": str(ROOT / "data"), "JUPYTER_PLATFORM_DIRS": "1"})
    (base / "home").mkdir()
    log = open(base / "lab.log", "w")
    server = subprocess.Popen(
        [str(venv / "bin" / "python"), "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={release}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.allow_root=True"], cwd=release, env=env, stdout=log,
        stderr=subprocess.STDOUT)
    for _ in range(240):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                 f"--user-data-dir={base / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield {"driver": driver, "url": f"http://127.0.0.1:{port}", "token": token,
               "release": release, "base": base, "log": base / "lab.log"}
    finally:
        driver.quit()
        server.terminate()
        server.wait(30)
        log.close()


APP = "window.jupyterapp.shell.currentWidget"


def _run_cell(driver, wait, index: int) -> str:
    """Run one cell through JupyterLab's own command; its output as the student sees it."""
    driver.execute_script(f"{APP}.content.activeCellIndex = arguments[0];"
                          "return window.jupyterapp.commands.execute('notebook:run-cell');", index)
    wait.until(lambda d: d.execute_script(
        f"const c = {APP}.content.widgets[arguments[0]];"
        f"return c.model.executionCount !== null && "
        f"{APP}.sessionContext.session.kernel.status === 'idle';", index))
    return driver.execute_script(f"return {APP}.content.widgets[arguments[0]].outputArea.node.innerText;", index)


def _index(driver, grade_id: str) -> int:
    return driver.execute_script(
        f"return {APP}.content.widgets.findIndex(c => ((c.model.getMetadata('nbgrader') || {{}})"
        ".grade_id) === arguments[0]);", grade_id)


def test_a_student_runs_fills_tests_and_validates(lab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver, wait = lab["driver"], WebDriverWait(lab["driver"], 180)
    driver.get(f"{lab['url']}/lab/tree/01_theory/01_theory.ipynb?token={lab['token']}")
    wait.until(lambda d: d.execute_script(
        f"return !!(window.jupyterapp && {APP} && {APP}.sessionContext && "
        f"{APP}.sessionContext.session && {APP}.sessionContext.session.kernel && "
        f"{APP}.sessionContext.session.kernel.status === 'idle')"))
    # The instructor's tools are not there; Validate is.
    menu_text = driver.execute_script("return document.querySelector('.lm-MenuBar').innerText")
    toolbar = [e for e in driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel-toolbar "
                                               ".jp-Toolbar-item") if e.text.strip() == "Validate"]
    assert toolbar, "no Validate button in the notebook toolbar"
    assert "Formgrader" not in driver.page_source and "Formgrader" not in menu_text
    # The first cell runs and says where it stands.
    first = driver.execute_script(f"return {APP}.content.widgets.findIndex(c => c.model.type === 'code')")
    banner = _run_cell(driver, wait, first)
    assert "EBM course run: profile=" in banner and "Warning" not in banner, banner
    # A blank exercise names itself.
    solution, tests = _index(driver, "gmm_energy"), _index(driver, "gmm_energy_tests")
    _run_cell(driver, wait, solution)
    blank = _run_cell(driver, wait, tests)
    assert "gmm_energy is not written yet (exercise gmm_energy)" in blank, blank[-600:]
    # Filled in, its visible tests say so.
    course = nbformat.read(ROOT / "course" / "01_theory" / "01_theory.ipynb", as_version=4)
    answer = next(c.source for c in course.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "gmm_energy")
    driver.execute_script(f"{APP}.content.widgets[arguments[0]].model.sharedModel.setSource(arguments[1]);",
                          solution, answer)
    _run_cell(driver, wait, solution)
    passed = _run_cell(driver, wait, tests)
    assert "gmm_energy: the visible tests pass" in passed, passed[-600:]
    driver.execute_script("return window.jupyterapp.commands.execute('docmanager:save')")
    time.sleep(1)
    # Validate: nbgrader runs the notebook (grade profile) and lists what still fails.
    button = toolbar[0].find_elements(By.CSS_SELECTOR, "button") or [toolbar[0]]
    button[0].click()
    dialog = WebDriverWait(driver, 600).until(
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, ".jp-Dialog-content")
                   if "Validating" not in e.text and e.text.strip()])
    text = dialog[0].text
    from ebm_course.results import results_dir

    driver.save_screenshot(str(results_dir() / "student_validate.png"))
    assert "Validation Results" in text and "failed" in text, text[:800]
    assert "grid_log_partition" in text  # the next, unfinished exercise
    assert "gmm_energy is not written yet" not in text  # the finished one passes
