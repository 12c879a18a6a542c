"""The numbers the notebooks' prose quotes agree with the committed ``results/``.

Each assignment's ``claims.py`` (its unit, ``ebm_course/instructor/assignments``) lists its
claims; ``ebm_course.instructor.claims`` says how a claim is written and checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ebm_course.instructor.assignments import ASSIGNMENTS, by_name
from ebm_course.instructor.claims import Claim, prose, read_results
from ebm_course.instructor.seeds import seed_results

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = [claim for a in ASSIGNMENTS if a.part("claims") for claim in a.part("claims").CLAIMS]


def _prose(notebook: str) -> str:
    return prose(by_name(notebook).source)


def _results(name: str) -> dict:
    return read_results(ROOT / "results", name)


def _seeds() -> dict:
    path = ROOT / "results" / "seeds.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.notebook}:{c.number}:{c.quote[:40]}")
def test_the_prose_quotes_the_committed_results(claim):
    assert claim.number in claim.quote, "the claim's number must be part of its quote"
    assert claim.quote in _prose(claim.notebook), (
        f"{claim.notebook}: the text no longer says {claim.quote!r}: update this claim with it")
    results = _results(claim.results)
    if results.get("profile") != "quick":
        pytest.skip(f"results/{claim.results}.json is from the {results.get('profile')} profile; "
                    "the prose quotes the quick one")
    committed = _seeds().get("committed_runs", {}).get(claim.results)
    if not claim.across_seeds and committed and results.get("run", {}).get("id") != committed:
        pytest.skip(f"a number of the committed run only, and results/{claim.results}.json is "
                    "from a rerun (another machine or seed gives other digits; the claims that "
                    "hold across seeds are still checked)")
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


SEEDED = [c for c in CLAIMS if c.across_seeds and c.results in _seeds().get("values", {})]


@pytest.mark.parametrize("claim", SEEDED, ids=lambda c: f"{c.notebook}:{c.number}:{c.quote[:40]}")
def test_the_prose_holds_on_every_seed(claim):
    """A results file perturbed within its measured spread (each seed of ``make seeds``, the
    committed run included) still satisfies the prose: what another CPU's ``make course`` would
    write, as far as three seeds show. A claim about this run only says so (across_seeds=False)."""
    record = _seeds()
    values, checked = [], 0
    for offset, results in seed_results(record, claim.results):
        try:
            value = float(claim.value(results))
        except KeyError:  # a section the seed runs leave out (03's ablations)
            continue
        checked += 1
        values.append((offset, round(value, 4)))
    if not checked:
        pytest.skip("no seed run writes this number (e.g. 03's ablations are off in make seeds)")
    low, high = claim.bounds()
    outside = [(s, v) for s, v in values if not low <= v <= high]
    assert not outside, (
        f"{claim.notebook} says {claim.number} ({claim.quote!r}) but seeds give {values}: quote "
        "the spread (and widen the tolerance to it), or say it is this run's "
        "(across_seeds=False)")
