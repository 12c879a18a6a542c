"""Prose claims: a number a notebook's text quotes, tied to the results file that holds it.

A rerun changes the results files; the prose does not follow by itself. (06's model answer once
quoted an R-hat "near 6" after a rerun had made it 8.) Each assignment's ``claims.py`` lists its
claims: the words as its notebook source has them and the results value they quote, so whoever
commits a rerun also updates the text; ``tests/test_prose_numbers.py`` fails until the words and
the file agree again.

A number written with k decimals must be the value rounded to k decimals (within half a unit of
the last digit); words like "about" or "near" get an explicit tolerance.

Seeds and machines. A claim on a number that ``make seeds`` reruns must hold on every seed
(``results/seeds.json``; ``tests/test_prose_numbers.py`` rebuilds each seed's results and checks
the claim against each): its tolerance covers the spread, and the prose says the spread. A claim
that describes this run only (a chain that got stuck, one seed's figure) is written with
``across_seeds=False``, and its text must say it is this run's; it is checked against the run
``seeds.json`` records as the committed one, and skipped, with that reason, when the results come
from a rerun (another CPU gives other digits: ``make course`` then ``make test`` must pass there).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Claim:
    notebook: str                      # the assignment whose source holds the words
    quote: str                         # words of its markdown, as written (line breaks ignored)
    number: str                        # the number inside ``quote`` that is checked
    results: str                       # results/<results>.json (or .jsonl)
    value: Callable[[dict], float]     # the quoted quantity, read from that file
    tol: float | None = None           # None: the number is the value rounded as written
    across_seeds: bool = True          # False: this run's number (checked on the committed run)

    def bounds(self) -> tuple[float, float]:
        x = float(self.number)
        if self.tol is not None:
            return x - self.tol, x + self.tol
        decimals = len(self.number.split(".")[1]) if "." in self.number else 0
        half = 0.5 * 10.0 ** -decimals + 1e-12
        return x - half, x + half


SEEDS = "seeds"  # results/seeds.json (``make seeds``): a claim on the spread over seeds reads it


def over_seeds(notebook: str, pointer: str, stat: str) -> Callable[[dict], float]:
    """A claim's value from ``results/seeds.json``: ``stat`` of ``notebook``'s number at
    ``pointer`` (a JSON pointer into its results, see ``instructor.seeds``) over the seeds:
    ``"min"``, ``"max"``, ``"mean"``, or ``"middle"`` (the median of the seeds' values)."""
    def value(r: dict) -> float:
        entry = r["values"][notebook][pointer]
        if stat == "middle":
            values = sorted(entry["per_seed"])
            return values[len(values) // 2]
        return entry[stat]
    return value


def on_seed(notebook: str, pointer: str, i: int) -> Callable[[dict], float]:
    """A claim's value from ``results/seeds.json``: ``notebook``'s number at ``pointer`` on the
    i-th seed (0: the committed run)."""
    return lambda r: r["values"][notebook][pointer]["per_seed"][i]


def quoted(notebook: str, quote: str, results: str, *numbers: tuple) -> list[Claim]:
    """One claim per number of a quote: ``(number, value)`` or ``(number, value, tol)``."""
    return [Claim(notebook, quote, number, results, *rest) for number, *rest in numbers]


def prose(source: Path) -> str:
    """The markdown of a notebook source, comment markers dropped and whitespace collapsed."""
    lines = source.read_text().splitlines()
    text = " ".join(re.sub(r"^#\s?", "", line) for line in lines if line.startswith("#"))
    return " ".join(text.split())


def read_results(results_dir: Path, name: str) -> dict:
    """A results JSON; a JSON-lines file (one run a line) as ``{"profile", "runs"}``."""
    lines = results_dir / f"{name}.jsonl"
    if lines.exists():
        return {"profile": "quick", "runs": [json.loads(line) for line in
                                             lines.read_text().splitlines() if line.strip()]}
    return json.loads((results_dir / f"{name}.json").read_text())
