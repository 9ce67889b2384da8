"""Axis ticks for the pictures (loss.png, compare.png) and the workbook's charts: round numbers
on log axes, written as plain decimals."""
from __future__ import annotations

import math


# Nice tick values, as mantissas in [1, 10), coarsest first.
_TICK_TIERS = (
    (1.0,),
    (1.0, 2.0, 5.0),
    (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
    (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
    tuple(round(1 + 0.1 * i, 1) for i in range(90)),
    tuple(round(1 + 0.02 * i, 2) for i in range(450)),
)
MOST_TICKS = 9
FLOOR = 1e-8  # a loss this far below the largest is zero to rounding (a perfect fit): the axis stops there


def _nice(tier, lo: float, hi: float) -> list[float]:
    """The tier's values from the last at or below lo to the first at or above hi."""
    values = [float(f"{m}e{k}") for k in range(math.floor(math.log10(lo)) - 1, math.floor(math.log10(hi)) + 2)
              for m in tier]
    below = max(v for v in values if v <= lo * (1 + 1e-9))
    above = min(v for v in values if v >= hi * (1 - 1e-9))
    return [v for v in values if below <= v <= above]


def log_ticks(lo: float, hi: float, most: int = MOST_TICKS) -> list[float]:
    """Ticks for a log axis showing lo..hi (both > 0): round numbers, as many as fit (at most
    `most`), the first at or below lo and the last at or above hi (they are the axis' ends).
    Within a decade or so they are 0.12, 0.15, 0.2, ...; over many decades 0.01, 0.1, 1, ..."""
    if not (0 < lo <= hi and math.isfinite(hi)):
        lo, hi = 0.1, 1.0
    lo = max(lo, hi * FLOOR)
    if hi / lo < 1.2:  # a flat curve: a little room around it
        middle = math.sqrt(lo * hi)
        lo, hi = middle / 1.1, middle * 1.1
    for tier in reversed(_TICK_TIERS):
        ticks = _nice(tier, lo, hi)
        if len(ticks) <= most:
            return ticks
    decades = _nice(_TICK_TIERS[0], lo, hi)  # more decades than ticks: every k-th
    k = math.ceil((len(decades) - 1) / (most - 1))
    first = math.floor(math.log10(decades[0]) / k) * k
    last = math.ceil(math.log10(decades[-1]) / k) * k
    return [10.0 ** e for e in range(first, last + 1, k)]


def step_ticks(last: int, most: int = 12) -> list[int]:
    """Ticks for a log axis of steps 1..last: 1, 2, 5, 10, 20, 50, ... (powers of ten alone
    when those are too many)."""
    for tier in ((1, 2, 5), (1,)):
        ticks = [m * 10 ** k for k in range(len(str(last))) for m in tier if m * 10 ** k <= last]
        if len(ticks) <= most:
            return ticks
    return ticks


def tick_label(value: float) -> str:
    """A tick as a plain decimal, no more digits than it has (0.12, 0.5, 1, 1,000); scientific
    notation only far from 1 (1e-06)."""
    if value == 0 or 1e-4 <= abs(value) < 1e6:
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return text
    return f"{value:g}"
