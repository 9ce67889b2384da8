"""Dates: the format a column of dates is written in, each date as a spreadsheet's day number,
and its parts (fastai's add_datepart: year, month, day of week, day of year, elapsed days).

    found = detect(texts)               # the format every text parses with, and why (or None)
    days = day_numbers(texts, format)   # float64 day numbers, NaN where a text is no date
    values = part_values(days)          # part name -> float64 array

A date is held as the number a spreadsheet holds it as (the 1900 date system: days since
1899-12-30, the time of day as a fraction), computed exactly as XlsxWriter computes the
number of the cell it writes, so that the workbook's YEAR(cell) reads the date torch read.
Dates before 1900-03-01 are refused: there Excel counts a 29 February 1900 that never was,
and its numbers disagree with LibreOffice's and Gnumeric's by a day.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

ISO = "ISO8601"  # pandas' name for any ISO 8601 text: dates, times, fractions, zones, mixed
# Tried in order; the first that reads every training text is the column's format. Where two
# read the same texts with day and month swapped, the month-first one comes first (ORDER_TWINS).
FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", ISO,
    "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%y", "%d/%m/%y", "%m-%d-%Y", "%d-%m-%Y", "%m-%d-%y", "%d-%m-%y", "%d.%m.%Y", "%d.%m.%y",
    "%b %d %Y", "%b %d, %Y", "%B %d %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y",
)


def _twins() -> dict[str, str]:
    """Each month-first format and its day-first twin, both ways."""
    out = {}
    for fmt in FORMATS:
        if fmt[:2] == "%m" and fmt[3:5] == "%d":
            twin = "%d" + fmt[2] + "%m" + fmt[5:]
            out[fmt], out[twin] = twin, fmt
    return out


ORDER_TWINS = _twins()

EPOCH = dt.datetime(1899, 12, 30)  # day 0 of the 1900 date system, as every engine counts from March 1900
EARLIEST = dt.datetime(1900, 3, 1)
EARLIEST_DAY = 61.0
SAMPLE = dt.datetime(2024, 1, 31, 10, 30, 15)  # a recipe's format must read back what it writes of this
UNIX_DAY = 25569.0  # 1970-01-01, the epoch elapsed days count from (fastai's Elapsed counts seconds from it)

# Each part: its words, its formula from a date cell {x} (Excel 2010+, LibreOffice, Gnumeric).
PARTS = {
    "year": ("the year", "YEAR({x})"),
    "month": ("the month, 1 to 12", "MONTH({x})"),
    "dayofweek": ("the day of the week, Monday 1 to Sunday 7", "WEEKDAY({x},2)"),
    "dayofyear": ("the day of the year, 1 to 366", "INT({x})-DATE(YEAR({x}),1,0)"),
    "elapsed": ("days since 1970-01-01 (the time of day as a fraction)", "{x}-DATE(1970,1,1)"),
}


def _parse(texts: pd.Series, fmt: str) -> pd.Series:
    """Timestamps (NaT where a text does not parse), wall-clock time kept where a zone is written."""
    if fmt == ISO:
        try:
            out = pd.to_datetime(texts, format=ISO, errors="coerce")
        except (ValueError, TypeError):  # offsets that differ between rows: brought to UTC
            out = pd.to_datetime(texts, format=ISO, errors="coerce", utc=True)
    else:
        out = pd.to_datetime(texts, format=fmt, errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


def day_numbers(texts: pd.Series, fmt: str) -> np.ndarray:
    """Each text's day number in the 1900 date system, NaN where it is no date in `fmt`."""
    stamps = _parse(pd.Series(texts, dtype=object), fmt)
    ok = stamps.notna().to_numpy()
    out = np.full(len(stamps), np.nan)
    if ok.any():
        us = stamps[ok].astype("datetime64[us]").to_numpy().astype(np.int64)
        # As XlsxWriter does: whole days since 1899-12-31, plus the fraction of the day, plus the
        # day Excel's 29 February 1900 adds (every date here is after it): the same float bits.
        day_us = 86_400_000_000
        days = us // day_us + 25568
        rest = us - (us // day_us) * day_us
        out[ok] = (days + ((rest // 1_000_000).astype(np.float64) + (rest % 1_000_000) / 1e6) / 86400) + 1
    return out


def to_datetime(day: float) -> dt.datetime:
    """The datetime a day number stands for (to the microsecond)."""
    whole = np.floor(day)
    return EPOCH + dt.timedelta(days=int(whole), microseconds=int(round((day - whole) * 86_400_000_000)))


def text(day: float) -> str:
    """A day number as people read it: 2024-01-31, or 2024-01-31 10:30:00 with a time."""
    when = to_datetime(day)
    return when.strftime("%Y-%m-%d") if when.time() == dt.time() else when.isoformat(sep=" ")


def part_values(days: np.ndarray) -> dict[str, np.ndarray]:
    """Every part of each day number (no NaN), as the PARTS formulas compute them."""
    whole = np.floor(days).astype(np.int64)
    dates = np.datetime64("1899-12-30") + whole.astype("timedelta64[D]")
    years = dates.astype("datetime64[Y]")
    year_start = (years.astype("datetime64[D]") - np.datetime64("1899-12-30")).astype(np.int64)
    return {
        "year": years.astype(np.int64).astype(np.float64) + 1970,
        "month": (dates.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.float64),
        "dayofweek": ((whole + 5) % 7 + 1).astype(np.float64),  # day 0, 1899-12-30, was a Saturday (6)
        "dayofyear": (whole - year_start + 1).astype(np.float64),
        "elapsed": days - UNIX_DAY,
    }


def detect(texts: list[str]) -> tuple[str, str] | None:
    """(format, why) for the distinct training texts of a column, when one format reads every
    one of them; None when none does."""
    series = pd.Series(texts, dtype=object)
    readers = [f for f in FORMATS if _parse(series, f).notna().all()]
    if not readers:
        return None
    fmt = readers[0]
    twin = ORDER_TWINS.get(fmt)
    if twin is None:
        return fmt, f"every training value reads as {fmt}"
    day_first = fmt.startswith("%d")
    if twin in readers:
        return fmt, (f"every training value reads as {fmt}, and as {twin}: no first or second field is above 12, "
                     "so the order of day and month cannot be told from the data; month first is assumed, as "
                     f"pandas' to_datetime and a US spreadsheet read it (write format = \"{twin}\" for day first)")
    failed = _parse(series, twin).isna().to_numpy()
    example = series[failed].iloc[0]
    where = "first" if day_first else "second"
    return fmt, (f"every training value reads as {fmt}: a {where} field is above 12 (e.g. {example!r}), so it is "
                 f"the day, and the {'second' if day_first else 'first'} the month")
