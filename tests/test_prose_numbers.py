"""The numbers the notebooks' prose quotes agree with the committed ``results/``.

Each assignment's ``claims.py`` (its unit, ``ebm_course/instructor/assignments``) lists its
claims; ``ebm_course.instructor.claims`` says how a claim is written and checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ebm_course.instructor.assignments import ASSIGNMENTS, by_name
from ebm_course.instructor.claims import Claim, prose, read_results

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = [claim for a in ASSIGNMENTS if a.part("claims") for claim in a.part("claims").CLAIMS]


def _prose(notebook: str) -> str:
    return prose(by_name(notebook).source)


def _results(name: str) -> dict:
    return read_results(ROOT / "results", name)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.notebook}:{c.number}:{c.quote[:40]}")
def test_the_prose_quotes_the_committed_results(claim):
    assert claim.number in claim.quote, "the claim's number must be part of its quote"
    assert claim.quote in _prose(claim.notebook), (
        f"{claim.notebook}: the text no longer says {claim.quote!r}: update this claim with it")
    results = _results(claim.results)
    if results.get("profile") != "quick":
        pytest.skip(f"results/{claim.results}.json is from the {results.get('profile')} profile; "
                    "the prose quotes the quick one")
    try:
        value = float(claim.value(results))
    except KeyError as missing:  # e.g. 05's rows for the 03 EBM when 03 did not finish
        pytest.skip(f"results/{claim.results} has no {missing}: the section that writes it did "
                    "not run on this machine, so its prose is not checked")
    low, high = claim.bounds()
    assert low <= value <= high, (
        f"{claim.notebook} says {claim.number} ({claim.quote!r}) but results/{claim.results}.json "
        f"has {value:.4g}: rerun and text disagree; update the text (and this claim)")


def test_a_claim_that_misquotes_its_results_is_caught():
    """The check is not vacuous: the same quote with its value moved by one unit of the last
    digit it is written with fails."""
    claim = next(c for c in CLAIMS if c.tol is None and "." in c.number)
    unit = 10.0 ** -len(claim.number.split(".")[1])
    wrong = Claim(claim.notebook, claim.quote, claim.number, claim.results,
                  lambda r: claim.value(r) + unit)
    low, high = wrong.bounds()
    assert not low <= float(wrong.value(_results(wrong.results))) <= high
