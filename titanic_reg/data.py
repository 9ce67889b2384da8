"""Load and validate the Kaggle Titanic CSVs (``train.csv`` / ``test.csv``).

Every value is read as text and parsed here, column by column and vectorised,
so that a bad value is reported as an :class:`~titanic_reg.errors.InputError`
naming the file, the spreadsheet row number (header = row 1, first record =
row 2, blank lines counted) and the column.

What is accepted:

* UTF-8 (with or without a BOM); when that fails, Windows-1252 and then
  Latin-1.  Files containing NUL bytes are rejected as binary.
* ``,`` delimited files; a header with ``;`` and no ``,`` is read as
  ``;``-delimited, and then decimal commas (``22,5``) are accepted in numeric
  fields.  A header with tabs and neither ``,`` nor ``;`` is read as
  tab-delimited.
* LF, CRLF or CR line ends; blank lines, and records whose fields are all
  empty, are skipped but still counted for row numbers; surrounding
  whitespace in values and in header names is stripped; header names match
  case-insensitively; columns may come in any order; extra columns are
  dropped.  Records shorter than the header read as empty trailing fields.
* Only an empty field is a missing value (``NA``/``nan`` text is an error).

Accepted with an :class:`InputWarning` (the CLI prints it as one ``warning:``
line on stderr) that says what was done:

* a file that is not UTF-8, read as Windows-1252 (or Latin-1);
* control characters that XML (and so the workbook) cannot hold, in ``Name``
  or ``Embarked``, which are dropped;
* an ``Embarked`` code other than S, C or Q in a training file, whose two port
  features are then both 0, as for Q.

docs/input-catalogue.md lists every case tested through the CLI and its outcome.

Ranges: Age 0..150, Fare >= 0 (both finite), SibSp and Parch whole numbers
>= 0, Pclass 1/2/3, Survived 0/1 (never missing), Sex male/female (any case),
PassengerId a whole number, present and unique.  Embarked is any code,
stripped and upper-cased (:func:`check_seen` catches codes the training data
never had).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

REQUIRED_TRAIN = ("PassengerId", "Survived", "Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")
REQUIRED_TEST = tuple(c for c in REQUIRED_TRAIN if c != "Survived")
OPTIONAL = ("Name",)

# Output column order (Survived only when labelled).
_ORDER = ("row", "PassengerId", "Survived", "Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")

_NONFINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MISSING_WORDS = {"na", "n/a", "nan", "null", "none", "nil", "-", "?"}
_LEADING_BLANK = re.compile(r"\A(?:[ \t\f\v]*(?:\r\n|\n|\r))+")
# What XML 1.0 (and so an .xlsx file) cannot hold: C0 controls but tab, LF and CR;
# lone surrogates; U+FFFE and U+FFFF.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
PORTS = ("S", "C", "Q")


class InputWarning(UserWarning):
    """The input was used after a change the user should know about; one line, says what was done."""


def warn(message: str) -> None:
    warnings.warn(InputWarning(message), stacklevel=2)


def load_csv(path, *, labelled: bool) -> pd.DataFrame:
    """Read a Titanic CSV and return the validated, typed columns.

    Columns, in order: ``row`` (spreadsheet row number), ``PassengerId``
    (int64), ``Survived`` (int64 0/1, only when ``labelled``), ``Pclass``,
    ``Age``, ``SibSp``, ``Parch``, ``Fare`` (float64, NaN when missing; Pclass
    is 1, 2 or 3), ``Name`` (str, "" when missing or absent), ``Sex``
    ("male"/"female"/None) and ``Embarked`` (upper-cased code or None).
    Raises :class:`InputError` for anything it cannot use.
    """
    required = REQUIRED_TRAIN if labelled else REQUIRED_TEST
    text = _read_text(path)

    # Leading blank lines still count as rows.
    m = _LEADING_BLANK.match(text)
    skipped = 0
    if m:
        skipped = len(re.findall(r"\r\n|\n|\r", m.group(0)))
        text = text[m.end():]
    if not text or text.isspace():
        raise InputError(path, "the file is empty")

    header_line = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    if "," not in header_line and ";" in header_line:
        sep = ";"
    elif "," not in header_line and ";" not in header_line and "\t" in header_line:
        sep = "\t"
    else:
        sep = ","
    header_row = skipped + 1

    try:
        raw = _read_frame(text, sep)
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file is empty") from None
    except (pd.errors.ParserError, ValueError) as exc:
        # Finds the record that broke the parser and raises; returns the
        # header width when every over-long record only has empty extras
        # (trailing commas), which are then dropped.
        width = _find_parse_error(path, text, sep, skipped, exc)
        try:
            raw = _read_frame(text, sep, usecols=range(width))
        except (pd.errors.ParserError, ValueError) as exc2:
            message = str(exc2).split("C error: ")[-1].strip()
            raise InputError(path, f"cannot be read as CSV ({message})") from None

    header = [str(h).strip() for h in raw.iloc[0]]
    body = raw.iloc[1:]
    rows = np.arange(len(body), dtype=np.int64) + header_row + 1

    # Map canonical column names to positions.
    canon = {c.lower(): c for c in required + OPTIONAL}
    pos: dict[str, int] = {}
    for i, h in enumerate(header):
        c = canon.get(h.lower())
        if c is None:
            continue
        if c in pos:
            raise InputError(path, f"column {c} appears twice in the header (columns {pos[c] + 1} and {i + 1})",
                             row=header_row, column=c)
        pos[c] = i
    missing = [c for c in required if c not in pos]
    if missing:
        found = ", ".join(h for h in header if h) or "nothing"
        what = "column" if len(missing) == 1 else "columns"
        raise InputError(path, f"required {what} {', '.join(missing)} missing; the header has {found}",
                         row=header_row)

    cols = {c: body.iloc[:, i] for c, i in pos.items()}
    # Each required column as (codes, distinct stripped texts): the parsing
    # below works on the distinct values, which keeps a million rows fast.
    prepped = {c: _prep(cols[c]) for c in required}

    # Drop blank records (blank lines, or every field empty); keep row numbers.
    if len(body):
        maybe_blank = np.ones(len(body), dtype=bool)
        for codes, texts in prepped.values():
            maybe_blank &= (texts == "").to_numpy()[codes]
        if maybe_blank.any():
            idx = np.flatnonzero(maybe_blank)
            sub = body.iloc[idx]
            blank = np.ones(len(idx), dtype=bool)
            for j in range(sub.shape[1]):
                blank &= sub.iloc[:, j].str.strip().eq("").to_numpy()
            if blank.any():
                keep = np.ones(len(body), dtype=bool)
                keep[idx[blank]] = False
                rows = rows[keep]
                cols = {c: s[keep] for c, s in cols.items()}
                prepped = {c: (codes[keep], texts) for c, (codes, texts) in prepped.items()}
    if len(rows) == 0:
        raise InputError(path, "no data rows (only a header)")

    decimal_comma = sep == ";"
    out: dict[str, object] = {"row": rows}
    errors: list[tuple[int, str, str]] = []

    def num(column, check, what, allow_missing=True):
        values, err = _parse_numeric(prepped[column], rows, column, check, what, allow_missing, decimal_comma)
        if err:
            errors.append(err)
        return values

    pid = num("PassengerId", _whole, "is not a whole number", allow_missing=False)
    if labelled:
        surv = num("Survived", lambda v: (v == 0) | (v == 1), "is not 0 or 1", allow_missing=False)
    pclass = num("Pclass", lambda v: (v == 1) | (v == 2) | (v == 3), "is not a ticket class 1, 2 or 3")
    age = num("Age", lambda v: (v >= 0) & (v <= 150), "is not an age between 0 and 150")
    sibsp = num("SibSp", lambda v: _whole(v) & (v >= 0), "is not a whole number >= 0")
    parch = num("Parch", lambda v: _whole(v) & (v >= 0), "is not a whole number >= 0")
    fare = num("Fare", lambda v: v >= 0, "is not a fare >= 0")

    sex, err = _parse_category(prepped["Sex"], rows, "Sex", str.lower, {"male", "female"}, "is not male or female")
    if err:
        errors.append(err)
    embarked, _ = _parse_category(prepped["Embarked"], rows, "Embarked", _clean_upper, None, "")

    if errors:
        row, column, problem = min(errors)
        raise InputError(path, problem, row=row, column=column)
    _warn_unclean(path, rows, "Embarked", prepped["Embarked"])
    if labelled:  # a test file's codes are checked against training's, by check_seen
        _warn_ports(path, rows, embarked)

    pid_int = pid.astype(np.int64)
    dup = pd.Series(pid_int).duplicated(keep=False).to_numpy()
    if dup.any():
        second = pd.Series(pid_int).duplicated(keep="first").to_numpy()
        j = int(np.argmax(second))
        first = int(np.argmax(dup & (pid_int == pid_int[j])))
        raise InputError(path, f"PassengerId {pid_int[j]} appears twice (rows {rows[first]} and {rows[j]})",
                         row=int(rows[j]), column="PassengerId")

    out["PassengerId"] = pid_int
    if labelled:
        out["Survived"] = surv.astype(np.int64)
    out["Pclass"] = pclass
    if "Name" in cols:
        names = _prep(cols["Name"])
        _warn_unclean(path, rows, "Name", names)
        out["Name"] = names[1].map(lambda t: XML_ILLEGAL.sub("", t).strip()).to_numpy(dtype=object)[names[0]]
    else:
        out["Name"] = np.full(len(rows), "", dtype=object)
    out["Sex"] = sex
    out["Age"] = age
    out["SibSp"] = sibsp
    out["Parch"] = parch
    out["Fare"] = fare
    out["Embarked"] = embarked

    # Sex/Embarked stay object with None (pandas 3 would infer "str" with NaN).
    for c in ("Sex", "Embarked"):
        out[c] = pd.Series(out[c], dtype=object)
    out["Name"] = pd.Series(out["Name"], dtype=str)
    return pd.DataFrame(out, columns=[c for c in _ORDER if c in out])


def check_seen(train: pd.DataFrame, test: pd.DataFrame, test_path) -> None:
    """Raise InputError for a Sex or Embarked value in ``test`` that ``train`` never has.

    Missing values (None) are fine; the error names the test file, its row and
    the column, and lists the values training did see.
    """
    worst = None
    for column in ("Sex", "Embarked"):
        seen = set(train[column].dropna())
        values = test[column]
        bad = (values.notna() & ~values.isin(seen)).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            row = int(test["row"].iloc[i])
            shown = ", ".join(sorted(map(str, seen))) or "none"
            problem = (f"{values.iloc[i]!r} never occurs in the training data, so the model "
                       f"has no input for it (training has: {shown})")
            if worst is None or row < worst[0]:
                worst = (row, column, problem)
    if worst:
        row, column, problem = worst
        raise InputError(test_path, problem, row=row, column=column)


# -- helpers ---------------------------------------------------------------


def _read_text(path) -> str:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a CSV file") from None
    except PermissionError:
        raise InputError(path, "cannot read the file: permission denied") from None
    except OSError as exc:
        if p.is_dir():
            raise InputError(path, "is a directory, not a CSV file") from None
        raise InputError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if not data:
        raise InputError(path, "the file is empty")
    if b"\x00" in data:
        if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputError(path, "is a spreadsheet workbook, not a CSV file; save it as CSV")
        raise InputError(path, "is not a text CSV file (it contains binary data)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(re.findall(rb"\r\n|\n|\r", data[:exc.start])) + 1
    for encoding, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):  # latin-1 decodes any bytes
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        warn(f"{path}: not UTF-8 (line {line} is the first that is not), so read as {label}; "
             "check the names and codes")
        return text


def _read_frame(text, sep, usecols=None):
    return pd.read_csv(
        io.StringIO(text),
        sep=sep,
        header=None,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        skipinitialspace=True,
        usecols=usecols,
        engine="c",
    )


def _find_parse_error(path, text, sep, skipped, exc):
    """pandas could not tokenise the file: find the record with the csv module.

    Raises InputError naming the row, or returns the header's field count when
    the only problem is records with extra, empty fields.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True)
    width = None
    n = skipped
    try:
        for record in reader:
            n += 1
            if width is None:
                width = len(record)
            elif len(record) > width and any(f.strip() for f in record[width:]):
                raise InputError(path, f"has {len(record)} fields but the header has {width}", row=n)
    except csv.Error as err:
        raise InputError(path, f"cannot be read as CSV ({err})", row=n + 1) from None
    message = str(exc).split("C error: ")[-1].strip()
    if "EOF inside string" in message:
        m = re.search(r"starting at row (\d+)", message)
        row = skipped + int(m.group(1)) + 1 if m else None
        raise InputError(path, "a quoted field is never closed (missing '\"')", row=row) from None
    if width is None or not message.startswith("Expected"):
        raise InputError(path, f"cannot be read as CSV ({message})") from None
    return width


def _whole(v):
    with np.errstate(invalid="ignore"):
        return np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 2**53)


def _prep(raw):
    """(codes, distinct values stripped) of a text column."""
    codes, uniques = pd.factorize(raw, sort=False)
    texts = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    return codes, texts


def _describe(text: str, what: str) -> str:
    low = text.lower()
    hint = " (leave the cell empty for a missing value)" if low in _MISSING_WORDS else ""
    if low in _NONFINITE:
        return f"{text!r} is not a finite number{hint}"
    return f"{text!r} {what}{hint}"


def _parse_numeric(prepped, rows, column, check, what, allow_missing, decimal_comma):
    """Parse one column of text into float64 (NaN = missing).

    Returns (values, error) where error is (row, column, problem) for the first
    bad value, or None.
    """
    codes, texts = prepped
    parse = texts.str.replace(",", ".", regex=False) if decimal_comma else texts
    parse = parse.where(~parse.str.contains("_", regex=False), "x")  # float('1_0') is legal, a CSV value is not
    nums = pd.to_numeric(parse, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    empty = (texts == "").to_numpy()
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(nums) & np.asarray(check(nums), dtype=bool)
    ok |= empty & allow_missing
    values = nums[codes]
    values[empty[codes]] = np.nan
    error = None
    bad_rows = ~ok[codes]
    if bad_rows.any():
        i = int(np.argmax(bad_rows))
        n_bad = int(bad_rows.sum())
        text = texts.iloc[codes[i]]
        if text == "":
            problem = "value is missing"
        elif np.isinf(nums[codes[i]]) and text.lower() not in _NONFINITE:
            problem = f"{text!r} is too large to be a finite number"
        elif not np.isfinite(nums[codes[i]]):
            problem = _describe(text, "is not a number")
        else:
            problem = f"{text!r} {what}"
        if n_bad > 1:
            problem += f" (and {n_bad - 1} more bad value{'s' if n_bad > 2 else ''} in this column)"
        error = (int(rows[i]), column, problem)
    return values, error


def _clean_upper(text: str) -> str:
    return XML_ILLEGAL.sub("", text).strip().upper()


def _warn_unclean(path, rows, column, prepped) -> None:
    """Warn (first row, count) about characters XML cannot hold; the callers drop them."""
    codes, texts = prepped
    bad = texts.str.contains(XML_ILLEGAL).to_numpy(dtype=bool)
    bad_rows = bad[codes]
    if bad_rows.any():
        i = int(np.argmax(bad_rows))
        n = int(bad_rows.sum())
        chars = "".join(sorted(set(XML_ILLEGAL.findall("".join(texts[bad])))))
        shown = ", ".join(f"U+{ord(c):04X}" for c in chars)
        more = f" (and {n - 1} more row{'s' if n > 2 else ''})" if n > 1 else ""
        warn(f"{path}, row {rows[i]}, column {column}: dropped control characters that a workbook "
             f"cannot hold ({shown}){more}")


def _warn_ports(path, rows, embarked) -> None:
    values = pd.Series(embarked, dtype=object)
    odd = (values.notna() & ~values.isin(PORTS)).to_numpy()
    if odd.any():
        i = int(np.argmax(odd))
        n = int(odd.sum())
        more = f" (and {n - 1} more row{'s' if n > 2 else ''})" if n > 1 else ""
        warn(f"{path}, row {rows[i]}, column Embarked: {values.iloc[i]!r} is none of the ports "
             f"{', '.join(PORTS)}{more}; Embark_S and Embark_C are 0 for it, as for Q")


def _parse_category(prepped, rows, column, normalise, allowed, what):
    """Normalise a stripped text column; empty -> None.  Error if not in allowed."""
    codes, texts = prepped
    normal = [normalise(t) for t in texts]
    mapped = np.array([v if v else None for v in normal], dtype=object)
    values = mapped[codes]
    error = None
    if allowed is not None:
        ok = np.array([(not v) or v in allowed for v in normal], dtype=bool)
        bad_rows = ~ok[codes]
        if bad_rows.any():
            i = int(np.argmax(bad_rows))
            n_bad = int(bad_rows.sum())
            problem = f"{texts.iloc[codes[i]]!r} {what}"
            if n_bad > 1:
                problem += f" (and {n_bad - 1} more bad value{'s' if n_bad > 2 else ''} in this column)"
            error = (int(rows[i]), column, problem)
    return values, error
