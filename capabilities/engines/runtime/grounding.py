"""Groundedness: the share of numbers quoted in prose that the evidence contains.

The rule (docs/runtime.md repeats it):
- A quoted number is a decimal in the prose: an optional sign, digits with optional
  thousands commas, an optional fraction, an optional `%` (or a trailing `x`, as in
  "2.5x"). Numbers glued to letters are parts of names (`p95`, `Qwen2`, `v3`) and are
  skipped, as are digits inside identifiers joined by `-`/`_`.
- Small integers (absolute value <= 10, no fraction, no `%`) are ignored: they are list
  markers, step counts and counts of things ("3 tools"), and requiring them in the
  evidence would fail honest prose. Every fraction and percentage counts.
- Signs are ignored ("loses 0.05" quotes -0.05).
- A quoted value with `d` decimals matches an evidence number `e` when one of `e`,
  `100*e`, `e/100` rounds to it at `d` decimals: 18.2% matches 0.18237, 0.182 matches
  "18.2%", 18 matches 18.4.
- Evidence numbers are every int/float inside the evidence values (dicts and lists
  walked), plus every number written inside their strings.
- The score is matched / quoted; prose quoting no number scores 1.0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(
    r"(?<![\w.\-])(?P<sign>[-+\u2212])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?P<pct>\s?%)?(?P<times>x)?(?![\w]|[-_]\w|\.\d)"
)
SMALL_INTEGER = 10


@dataclass(frozen=True)
class Quoted:
    """One number as the prose wrote it."""

    text: str
    value: float
    decimals: int
    percent: bool


@dataclass(frozen=True)
class Grounding:
    score: float
    quoted: tuple[Quoted, ...]
    sources: tuple[tuple[str, str], ...]  # (quoted text, evidence name) for each match
    unmatched: tuple[str, ...]


def quoted_numbers(text: str) -> list[Quoted]:
    """The numbers in `text` that groundedness checks (small bare integers left out)."""
    found = []
    for match in _NUMBER.finditer(text):
        digits = match.group("int").replace(",", "")
        frac = match.group("frac") or ""
        percent = bool(match.group("pct"))
        value = float(f"{digits}.{frac}" if frac else digits)
        if not frac and not percent and value <= SMALL_INTEGER:
            continue
        found.append(Quoted(match.group(0).strip(), value, len(frac), percent))
    return found


def evidence_numbers(value: Any) -> list[float]:
    """Every number inside an evidence value (nested dicts/lists, and inside strings)."""
    out: list[float] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int | float):
            if math.isfinite(item):
                out.append(abs(float(item)))
        elif isinstance(item, str):
            for match in _NUMBER.finditer(item):
                digits = match.group("int").replace(",", "")
                frac = match.group("frac")
                out.append(float(f"{digits}.{frac}" if frac else digits))
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, Iterable):
            stack.extend(item)
        elif hasattr(item, "model_dump"):
            stack.append(item.model_dump(mode="json"))
    return out


def _matches(quoted: Quoted, number: float) -> bool:
    tolerance = 0.5 * 10 ** (-quoted.decimals) + 1e-9
    return any(
        abs(candidate - quoted.value) <= tolerance
        for candidate in (number, number * 100.0, number / 100.0)
    )


def groundedness(prose: str, evidence: Mapping[str, Any]) -> Grounding:
    """Score `prose` against named evidence; each match names the evidence it came from."""
    quoted = quoted_numbers(prose)
    pools = [(name, evidence_numbers(value)) for name, value in evidence.items()]
    sources: list[tuple[str, str]] = []
    unmatched: list[str] = []
    for q in quoted:
        source = next((name for name, pool in pools if any(_matches(q, n) for n in pool)), None)
        if source is None:
            unmatched.append(q.text)
        else:
            sources.append((q.text, source))
    score = 1.0 if not quoted else len(sources) / len(quoted)
    return Grounding(score, tuple(quoted), tuple(sources), tuple(unmatched))
