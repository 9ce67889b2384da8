"""Read any CSV into columns of stripped text, with the spreadsheet row of every record.

Nothing here knows what the columns mean: a recipe (recipe.py) says which are numbers,
categories, the target or an ID, and data.py parses them accordingly. A Table (columns.py)
is what every source becomes: a CSV here, a folder of images (images.py), a DataFrame. Reading is
shared by every dataset:

* UTF-8 (with or without a BOM), or UTF-16 with its BOM (Excel's "Unicode text",
  tab-separated); when UTF-8 fails, Windows-1252 and then Latin-1, with a
  warning. Files containing NUL bytes are refused as binary (a saved workbook by name).
* ``,`` delimited; a header with ``;`` and no ``,`` is read as ``;``-delimited, and then
  decimal commas (``22,5``) are accepted in numbers; a header with tabs and neither
  ``,`` nor ``;`` as tab-delimited.
* LF, CRLF or CR line ends; blank lines, and records whose fields are all empty, are
  skipped but still counted for row numbers (the header is row 1); whitespace around
  values and header names is stripped. An empty header name becomes ``Unnamed: i``
  (i counts columns from 0), as pandas names it.
* A record shorter than the header reads as empty trailing fields; a longer one is an
  error unless its extra fields are empty.

Each column is kept factorised, as codes into its distinct stripped texts: parsing then
works on the distinct values, which keeps a million rows fast and small.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import Column, Table
from .errors import InputError, warn

_LEADING_BLANK = re.compile(r"\A(?:[ \t\f\v]*(?:\r\n|\n|\r))+")
# What XML 1.0 (and so an .xlsx file) cannot hold: C0 controls but tab, LF and CR;
# lone surrogates; U+FFFE and U+FFFF.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")



def read_table(path) -> Table:
    """Read a CSV file into a Table; InputError (file, row) for anything unreadable. A folder
    of class folders of images reads as the CSV of its pixels would (images.read_folder)."""
    if Path(path).is_dir():
        from .images import read_folder

        return read_folder(path)
    text = _read_text(path)
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
        # Finds the record that broke the parser and raises; returns the header width when
        # every over-long record only has empty extras (trailing commas), then dropped.
        width = _find_parse_error(path, text, sep, skipped, exc)
        try:
            raw = _read_frame(text, sep, usecols=range(width))
        except (pd.errors.ParserError, ValueError) as exc2:
            message = str(exc2).split("C error: ")[-1].strip()
            raise InputError(path, f"cannot be read as CSV ({message})") from None
    del text

    header = [str(h).strip() or f"Unnamed: {i}" for i, h in enumerate(raw.iloc[0])]
    n = len(raw) - 1
    rows = np.arange(n, dtype=np.int64) + header_row + 1
    columns = []
    blank = np.ones(n, dtype=bool)
    for i, name in enumerate(header):
        codes, uniques = pd.factorize(raw.iloc[1:, i], sort=False)
        texts = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
        blank &= (texts == "").to_numpy()[codes]
        columns.append(Column(name, codes, texts))
    del raw
    if blank.any():  # blank lines and all-empty records: skipped, their row numbers kept
        keep = ~blank
        rows = rows[keep]
        columns = [Column(c.name, c.codes[keep], c.texts) for c in columns]
    if len(rows) == 0:
        raise InputError(path, "no data rows (only a header)")
    return Table(Path(path), header, columns, rows, header_row, sep == ";")


def numbers(texts: pd.Series, decimal_comma: bool) -> np.ndarray:
    """Each distinct text as a float64, NaN where it is no number: decimal commas for a
    `;` file, and no `1_000` (Python reads it, a CSV does not mean it)."""
    parse = texts.str.replace(",", ".", regex=False) if decimal_comma else texts
    parse = parse.where(~parse.str.contains("_", regex=False), "x")
    return pd.to_numeric(parse, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


CELL_TEXT_LIMIT = 32_767  # characters in a cell, in Excel and LibreOffice


def clean_text(table: Table, column: Column) -> Column:
    """The column with what a workbook cannot hold removed: texts past a cell's limit cut to
    it (a workbook would cut them silently; torch reads the same cut text, so the two agree),
    control characters dropped; one warning for each, naming the first row."""
    long = (column.texts.str.len() > CELL_TEXT_LIMIT).to_numpy(dtype=bool)
    if long.any():
        _warn_first(table, column, long, lambda text: f"text of {len(text):,} characters cut to "
                    f"{CELL_TEXT_LIMIT:,}, a cell's limit in Excel and LibreOffice")
        column = replace(column, texts=column.texts.map(lambda t: t[:CELL_TEXT_LIMIT]))
    bad = column.texts.str.contains(XML_ILLEGAL).to_numpy(dtype=bool)
    if not bad.any():
        return column
    chars = "".join(sorted(set(XML_ILLEGAL.findall("".join(column.texts[bad])))))
    shown = ", ".join(f"U+{ord(c):04X}" for c in chars)
    _warn_first(table, column, bad, lambda text: f"dropped control characters that a workbook cannot hold ({shown})")
    return replace(column, texts=column.texts.map(lambda t: XML_ILLEGAL.sub("", t).strip()))


def _warn_first(table: Table, column: Column, flagged: np.ndarray, problem) -> None:
    """One warning for the rows whose text (by code) is flagged: the first row, `problem(its
    text)`, and how many more."""
    rows = flagged[column.codes]
    if not rows.any():
        return
    i = int(np.argmax(rows))
    count = int(rows.sum())
    more = f" (and {count - 1} more row{'s' if count > 2 else ''})" if count > 1 else ""
    warn(f"{table.path}, row {table.rows[i]}, column {column.name}: "
         f"{problem(column.texts.iat[column.codes[i]])}{more}")


# -- helpers ---------------------------------------------------------------


MAX_CSV_BYTES = 4 * 1024**3  # 4 GiB: far past what a run can hold in memory as features


def special_file(st) -> str | None:
    """What a path is when it is neither a regular file nor a folder (from its stat): reading a
    device never ends, and opening a pipe with no writer blocks for ever."""
    mode = st.st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


def frame_table(frame: pd.DataFrame, name: str = "DataFrame") -> Table:
    """A DataFrame as the Table its CSV would be read into: each value as its text (a missing
    one empty), so that a frame is checked and typed exactly as a file is. Rows are numbered
    by position from 0, as pandas counts them; there is no header row to name."""
    if frame.columns.duplicated().any():
        twice = frame.columns[frame.columns.duplicated()][0]
        raise InputError(name, f"column {twice} appears twice", row=1, column=str(twice))
    if len(frame) == 0:
        raise InputError(name, "no rows")
    header = [str(c).strip() or f"Unnamed: {i}" for i, c in enumerate(frame.columns)]
    columns = []
    for i, column in enumerate(header):
        values = frame.iloc[:, i].tolist()
        texts = [_cell_text(v) for v in values]
        codes, uniques = pd.factorize(pd.Series(texts, dtype=object), sort=False)
        given = [v for v, t in zip(values, texts) if t]
        dated = bool(given) and all(isinstance(v, (dt.date, np.datetime64)) for v in given)
        columns.append(Column(column, codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip(),
                              dated))
    return Table(Path(name), header, columns, np.arange(len(frame), dtype=np.int64), None, False)


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 3.0 as a CSV writes 3: a category of numbers reads it alike
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return ""
    if isinstance(value, dt.datetime):  # pandas' Timestamp too; a CSV of them holds the same text
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_text(path) -> str:
    p = Path(path)
    try:
        st = p.stat()  # not open(): a pipe with no writer would block on open for ever
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the file: {exc.strerror or exc}") from None
    kind = special_file(st)
    if kind:
        raise InputError(path, f"is {kind}, not a CSV file: save the rows to a file and give its path")
    if st.st_size > MAX_CSV_BYTES:
        raise InputError(path, f"is {st.st_size / 1024**3:.1f} GiB, past the {MAX_CSV_BYTES // 1024**3} GiB a "
                               "CSV may be here; take a sample of its rows")
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
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16, tab-separated
        return _utf16(path, data)
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


def _utf16(path, data: bytes) -> str:
    """A file that starts with a UTF-16 byte-order mark, decoded by it (the codec reads the
    mark and drops it)."""
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"starts as UTF-16 but is not valid UTF-16 (at byte {exc.start:,})") from None
    if "\x00" in text:
        raise InputError(path, "is not a text CSV file (it contains binary data)")
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

    Raises InputError naming the row, or returns the header's field count when the only
    problem is records with extra, empty fields.
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
