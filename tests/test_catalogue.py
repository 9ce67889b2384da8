"""The catalogue of bad and awkward inputs, each run through the real CLI.

CATALOGUE below is the specification: every case is a CSV (the Kaggle file, an
edit of it, or literal text/bytes), the options, and what must happen:

* ok()                 accepted as is: exit 0, nothing on stderr, outputs written;
* warn(words...)       accepted: exit 0, outputs written, and stderr has one
                       `warning: ...` line holding the words (stderr holds
                       nothing but `warning:` lines);
* refuse(exit, words)  refused: exit 1 with exactly one `error: ...` line that
                       names the file, row and column (the words), or exit 2
                       for a usage error (click's `Error: ...`); no traceback,
                       and nothing is written: the --out folder is not even
                       created (or left exactly as it was).

docs/input-catalogue.md is generated from the same table; regenerate it with

    .venv/bin/python tests/test_catalogue.py > docs/input-catalogue.md

and test_the_docs_match_the_catalogue keeps the two equal.
"""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "data" / "train.csv"
TEST = ROOT / "data" / "test.csv"
DOC = ROOT / "docs" / "input-catalogue.md"
KAGGLE_FARE = "column Fare: 1 row missing, where no training row was; filled with the training mode 13"


# --------------------------------------------------------------------------- the language of the table


@dataclass(frozen=True)
class Expect:
    kind: str  # "ok", "warn" or "refuse"
    code: int = 0
    words: tuple[str, ...] = ()


def ok() -> Expect:
    return Expect("ok")


def warn(*words: str) -> Expect:
    return Expect("warn", 0, words)


def refuse(code: int, *words: str) -> Expect:
    return Expect("refuse", code, words)


def _kaggle_text() -> str:
    """train.csv with LF line ends (Kaggle ships CRLF; the "kaggle" case reads it as it is)."""
    return TRAIN.read_bytes().decode("utf-8").replace("\r\n", "\n")


def _records(text: str | None = None) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text if text is not None else _kaggle_text(), newline="")))


def _csv(records, **kw) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", **kw).writerows(records)
    return buf.getvalue()


def cells(*changes: tuple[int, str, str]) -> Callable[[], str]:
    """train.csv with cells replaced: (spreadsheet row, column, new text)."""

    def make():
        rows = _records()
        for row, column, value in changes:
            rows[row - 1][rows[0].index(column)] = value
        return _csv(rows)

    return make


def column(name: str, value) -> Callable[[], str]:
    """train.csv with every value of one column replaced (value may be a function of the old one)."""

    def make():
        rows = _records()
        i = rows[0].index(name)
        for record in rows[1:]:
            record[i] = value(record[i]) if callable(value) else value
        return _csv(rows)

    return make


def records(change: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[], str]:
    """train.csv's records (header first) through `change`."""
    return lambda: _csv(change(_records()))


def text(edit: Callable[[str], str | bytes]) -> Callable[[], str | bytes]:
    """train.csv's text (or bytes) through `edit`."""
    return lambda: edit(_kaggle_text())


def literal(content: str | bytes) -> Callable[[], str | bytes]:
    """This text or these bytes, as the whole file."""
    return lambda: content


def _drop(name):
    def change(rows):
        i = rows[0].index(name)
        return [r[:i] + r[i + 1:] for r in rows]

    return change


def _semicolons(rows):
    header = rows[0]
    decimal = {header.index("Age"), header.index("Fare")}
    return [rows[0]] + [[v.replace(".", ",") if i in decimal else v for i, v in enumerate(r)] for r in rows[1:]]


def _only(column_name, value):
    return lambda rows: [rows[0]] + [r for r in rows[1:] if r[rows[0].index(column_name)] == value]


@dataclass(frozen=True)
class Case:
    name: str
    input: str  # what the input is, in words (the docs' second column)
    csv: Callable[[], str | bytes] | None = None  # None: data/train.csv itself (test.csv beside it is used)
    options: tuple[str, ...] = ()  # {tmp}, {train}, {test}, {out} are filled in
    expect: Expect = field(default_factory=ok)
    note: str = ""  # what is done, in words (the docs' third column)
    setup: Callable[[Path], dict] | None = None  # makes files; returns placeholders ({"out": ...}, ...)
    train: str | None = None  # the TRAIN argument when it is not the csv above (a missing file, a folder)
    check: Callable[[dict, Path], None] | None = None  # more checks: (metrics.json, the --out folder)
    workbook: bool = False  # write titanic.xlsx too (the other cases run with --no-workbook)
    baselines: bool = False  # fit scikit-learn's baselines too (the other cases run without: helpers.NO_BASELINES)


def _fifo(tmp: Path) -> dict:
    """A named pipe with no writer: opening it to read would block for ever."""
    os.mkfifo(tmp / "rows.csv")
    return {"fifo": str(tmp / "rows.csv")}


def _unseen_test(tmp: Path) -> dict:
    return {"test": str(TEST)}


def _out_is_file(tmp: Path) -> dict:
    (tmp / "out").write_text("a file, not a folder\n")
    return {}


def _out_parent_is_file(tmp: Path) -> dict:
    (tmp / "results").write_text("a file\n")
    return {"out": str(tmp / "results" / "run1")}


def _output_is_folder(tmp: Path) -> dict:
    (tmp / "out" / "metrics.json").mkdir(parents=True)
    (tmp / "out" / "loss.png").write_bytes(b"old")
    return {}


def _out_not_writable(tmp: Path) -> dict:
    if os.geteuid() == 0:  # root writes through file modes; sysfs refuses even root
        return {"out": "/sys/titanic-reg-catalogue/out"}
    folder = tmp / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return {"out": str(folder / "out")}


def _out_has_old_outputs(tmp: Path) -> dict:
    (tmp / "out").mkdir()
    (tmp / "out" / "metrics.json").write_text('{"old": true}\n')
    (tmp / "out" / "notes.txt").write_text("mine\n")
    return {}


def _input_in_out(name: str, source: Path, link: bool = False):
    """An input of the run inside --out under an output's name (a hard link to it, with link)."""
    def setup(tmp: Path) -> dict:
        (tmp / "out").mkdir()
        if link:
            (tmp / "mine").mkdir()
            (tmp / "mine" / source.name).write_bytes(source.read_bytes())
            os.link(tmp / "mine" / source.name, tmp / "out" / name)
        else:
            (tmp / "out" / name).write_bytes(source.read_bytes())
        return {"in_out": str(tmp / "out" / name)}

    return setup


def _no_valid_rows(metrics, out):
    assert metrics["rows"]["valid"] == 0
    assert metrics["models"]["linear"]["valid_mse"] is None


def _logistic_null(metrics, out):
    assert metrics["baselines"]["sklearn_logistic"]["train_mse"] is None
    assert metrics["models"]["linear"]["train_mse"] is not None


PENGUINS = ROOT / "data" / "penguins.csv"


def penguins() -> Callable[[], str]:
    """palmerpenguins' penguins.csv (CC0), shipped in data/."""
    return lambda: PENGUINS.read_text(encoding="utf-8")


def _repeated(n: int) -> Callable[[], str]:
    """Kaggle's rows repeated to n rows, each with an ID of its own."""

    def make():
        header, *rows = _records()
        out = [header]
        while len(out) <= n:
            k = len(out) - 1
            out += [[str(k + i + 1), *r[1:]] for i, r in enumerate(rows[:n + 1 - len(out)])]
        return _csv(out)

    return make


def _titanic_recipe(old: str = "", new: str = "") -> str:

    text = (ROOT / "titanic_reg" / "recipes" / "titanic.toml").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1) if old else text


def _recipe_file(text: str, encoding: str = "utf-8"):
    def setup(tmp: Path) -> dict:
        (tmp / "recipe.toml").write_text(text, encoding=encoding)
        return {}

    return setup


def _lifeboat(rows):
    """A boat number for 97% of survivors and 1% of the dead: known only after the outcome."""
    rows[0].append("Lifeboat")
    for i, r in enumerate(rows[1:]):
        boat = str(1 + i % 16) if (r[1] == "1") != (i % 50 == 0) and i % 37 else ""
        r.append(boat)
    return rows


def _awkward() -> str:
    import random

    rnd = random.Random(1)
    lines = ['"bill length (mm)",2nd,"a,b",Ünï côté,"y = 1?",=sum']
    for i in range(80):
        lines.append(f"{rnd.uniform(30, 60):.1f},{rnd.randint(0, 9)},{rnd.choice('pqr')},{rnd.choice(['é', 'ü', ''])},"
                     f"{rnd.choice(['yes', 'no'])},{rnd.random():.3f}")
    return "\n".join(lines) + "\n"


def _dated() -> str:
    lines = ["when,x,y"]
    for i in range(60):
        lines.append(f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},{i % 7 * 1.5},{i % 3 == 0:d}")
    return "\n".join(lines) + "\n"


def _binary_sex(metrics, out):
    assert metrics["target"] == {"column": "sex", "kind": "binary", "positive": "male", "negative": "female"}
    assert metrics["rows"]["no_target"] == 11 and metrics["rows"]["test"] == 0
    assert "species_Gentoo" in metrics["features"] and metrics["features"][-1] == "Ones"
    assert 'positive = "male"' in (out / "recipe.toml").read_text()
    assert not (out / "predictions.csv").exists()  # no test file


def _number_mass(metrics, out):
    assert metrics["target"]["kind"] == "number" and metrics["target"]["sd"] > 0
    linear = metrics["models"]["linear"]
    assert {"train_rmse", "valid_rmse", "train_r2", "valid_r2"} <= set(linear) and "train_acc" not in linear
    assert linear["train_rmse"] == pytest.approx(linear["train_mse"] ** 0.5)
    assert "mean" in metrics["baselines"] and "sklearn_logistic" not in metrics["baselines"]


def _species(metrics, out):
    assert metrics["target"] == {"column": "species", "kind": "classes", "classes": ["Adelie", "Chinstrap", "Gentoo"]}
    assert metrics["models"]["linear"]["valid_acc"] > 0.9
    import openpyxl

    (book,) = out.glob("*.xlsx")
    wb = openpyxl.load_workbook(book)
    assert wb["Data"]["D5"].value == "y = Adelie" and wb["Linear"]["F5"].value == "P(Adelie)"


def _gentoo(metrics, out):
    assert metrics["target"] == {"column": "species", "kind": "binary", "positive": "Gentoo", "negative": "rest"}


def _leak(metrics, out):
    assert [found["column"] for found in metrics["leakage"]] == ["Lifeboat"]
    assert metrics["leakage"][0]["accuracy"] > 0.95


def _awkward_names(metrics, out):
    import openpyxl

    wb = openpyxl.load_workbook(out / "data.xlsx" if (out / "data.xlsx").exists() else out / "train.xlsx")
    names = list(wb.defined_names)
    assert all(all(ch.isalnum() and ch.isascii() or ch in "_." for ch in n) for n in names), names
    header = [c.value for c in wb["Data"][5]]
    assert {"bill length (mm)", "2nd", "a,b", "Ünï côté", "y = 1?", "=sum"} <= set(header)


def _date_parts(metrics, out):
    # 2024's months and days of month, one row each: year is constant, and the rest are parts.
    made = [f for f in metrics["features"] if f.startswith("when_")]
    assert "when_dayofyear" in made and len(made) == 1 + 11 + 6  # 12 months and 7 weekdays, less a baseline each
    assert all(f.startswith(("when_month_", "when_dayofweek_")) for f in made if f != "when_dayofyear")
    text = (out / "recipe.toml").read_text()
    assert '[inputs.when.parts.month]' in text and 'format = "%Y-%m-%d"' in text and "year (2024)" in text


def _atlantis(tmp: Path) -> dict:
    rows = PENGUINS.read_text(encoding="utf-8").splitlines()
    test = [rows[0], rows[1], rows[2].replace("Torgersen", "Atlantis"), rows[3]]
    (tmp / "penguins_test.csv").write_text("\n".join(test) + "\n", encoding="utf-8")
    return {}


def _predictions(n):
    def check(metrics, out):
        lines = (out / "predictions.csv").read_text().splitlines()
        assert lines[0] == "row,prediction,score" and len(lines) == 1 + n
        assert all(line.split(",")[1] in ("male", "female") for line in lines[1:])

    return check


def _standardised_age(metrics, out):
    age = metrics["stats"]["inputs"]["Age"]
    assert "mean" in age and "sd" in age and "max" not in age
    assert metrics["recipe"].endswith("recipe.toml")


def _one_class_in_training(rows):
    """60 passengers who died and 2 who survived, placed where seed 42's 4% validation split takes them."""
    died = [r for r in rows[1:] if r[1] == "0" and all(r[i] for i in (5, 11))][:60]
    lived = [r for r in rows[1:] if r[1] == "1" and all(r[i] for i in (5, 11))][:2]
    for place, record in zip((28, 37), lived):  # numpy's default_rng(42).permutation(62)[:2]
        died.insert(place, record)
    return rows[:1] + died


def _dropped(n):
    def check(metrics, out):
        assert metrics["rows"]["dropped"] == n

    return check


def _no_target(n):
    def check(metrics, out):
        assert metrics["rows"]["no_target"] == n and metrics["rows"]["train"] + metrics["rows"]["valid"] == 712 - n

    return check


def _old_outputs_replaced(metrics, out):
    assert "old" not in metrics
    assert (out / "notes.txt").read_text() == "mine\n"


def _names_are(expected: dict[int, str]):
    """The Data sheet's Names (by PassengerId) are these plain strings, never formulas; the file opens."""

    def check(metrics, out):
        import openpyxl

        ws = openpyxl.load_workbook(out / "titanic.xlsx")["Data"]
        name_col = next(c.column for c in ws[5] if c.value == "Name")
        names = {ws.cell(r, 1).value: ws.cell(r, name_col) for r in range(6, ws.max_row + 1)}
        for pid, name in expected.items():
            assert names[pid].data_type == "s" and names[pid].value == name, (pid, names[pid].value)

    return check


L1_NAME = "Müller, Mr. José"

CATALOGUE: list[Case] = [
    # -- the file as a whole
    Case("kaggle", "Kaggle's train.csv as shipped (CRLF line ends), test.csv beside it", None,
         expect=warn("{test}, " + KAGGLE_FARE),
         note="the reference run, with the lesson's recipe; submission.csv for the 418 test rows"),
    Case("not-found", "a path where no file is", train="{tmp}/nope.csv",
         expect=refuse(1, "{tmp}/nope.csv: file not found")),
    Case("directory", "a folder instead of a file", train="{tmp}",
         expect=refuse(1, "{tmp}: is a directory, not a CSV file")),
    Case("device", "a device that never ends (`fit /dev/zero`)", train="/dev/zero",
         expect=refuse(1, "/dev/zero: is a device, not a CSV file: save the rows to a file and give its path"),
         note="refused before reading: it would fill the memory"),
    Case("pipe", "a named pipe that nothing writes to", train="{fifo}", setup=_fifo,
         expect=refuse(1, "{fifo}: is a pipe, not a CSV file: save the rows to a file and give its path"),
         note="refused before opening: it would wait for ever"),
    Case("test-device", "`--test /dev/zero`", None, ("--test", "/dev/zero"),
         expect=refuse(1, "/dev/zero: is a device, not a CSV file")),
    Case("recipe-pipe", "`--recipe` a named pipe that nothing writes to", None, ("--recipe", "{fifo}"), setup=_fifo,
         expect=refuse(1, "{fifo}: is a pipe, not a recipe file")),
    Case("empty", "an empty file (0 bytes)", literal(b""), expect=refuse(1, "{train}: the file is empty")),
    Case("blank", "only blank lines", literal("\n \r\n\n"), expect=refuse(1, "{train}: the file is empty")),
    Case("header-only", "the header and no records", literal(_kaggle_text().splitlines()[0] + "\n"),
         expect=refuse(1, "{train}: no data rows (only a header)")),
    Case("workbook", "an .xlsx workbook saved as train.csv", literal(b"PK\x03\x04\x14\x00\x00\x00" + bytes(64)),
         expect=refuse(1, "{train}: is a spreadsheet workbook, not a CSV file; save it as CSV")),
    Case("binary", "binary data", literal(bytes(range(256)) * 8),
         expect=refuse(1, "{train}: is not a text CSV file (it contains binary data)")),
    # -- encodings, line ends, delimiters, quoting
    Case("bom", "UTF-8 with a byte-order mark", text(lambda t: t.encode("utf-8-sig"))),
    Case("latin-1", f"Latin-1 bytes (a Name {L1_NAME!r})",
         text(lambda t: t.replace("Braund, Mr. Owen Harris", L1_NAME).encode("latin-1")),
         expect=warn("{train}: not UTF-8 (line 2 is the first that is not), so read as Windows-1252"),
         note="decoded as Windows-1252, which reads Latin-1 letters right"),
    Case("crlf", "Windows line ends (CRLF)", text(lambda t: t.replace("\n", "\r\n"))),
    Case("cr", "old Mac line ends (CR only)", text(lambda t: t.replace("\n", "\r"))),
    Case("blank-lines", "blank lines before the header, between records and at the end",
         text(lambda t: "\n\n" + t.replace("\n3,", "\n\n   \n3,").replace("\n10,", "\n,,,,,,,,,,,\n10,") + "\n\n"),
         note="skipped, but counted in row numbers"),
    Case("blank-lines-row-numbers", "blank lines, then a bad Age",
         text(lambda t: "\n" + t.replace("\n3,", "\n\n3,").replace("Heikkinen, Miss. Laina\",female,26",
                                                                       "Heikkinen, Miss. Laina\",female,abc")),
         expect=refuse(1, "{train}, row 6, column Age: 'abc' is not a number"),
         note="row 6 is the line a text editor shows"),
    Case("semicolons", "`;`-separated with decimal commas (`7,25`), as European spreadsheets save",
         lambda: _csv(_semicolons(_records()), delimiter=";")),
    Case("tabs", "tab-separated", lambda: _csv(_records(), delimiter="\t")),
    Case("utf-16", "UTF-16 with a byte-order mark, tab-separated (Excel's \"Unicode text\")",
         lambda: _csv(_records(), delimiter="\t").encode("utf-16"), note="decoded by its byte-order mark"),
    Case("quoted-numbers", "every field quoted, numbers too (`\"22\"`)",
         lambda: _csv(_records(), quoting=csv.QUOTE_ALL)),
    Case("decimal-comma", "a decimal comma in a comma-separated file (`\"22,5\"`)", cells((2, "Age", "22,5")),
         expect=refuse(1, "{train}, row 2, column Age: '22,5' is not a number")),
    Case("extra-field", "a record with more fields than the header",
         text(lambda t: t.replace("7.925,,S\n", "7.925,,S,extra\n", 1)),
         expect=refuse(1, "{train}, row 4: has 13 fields but the header has 12")),
    Case("unclosed-quote", "a quote in the last record that is never closed",
         text(lambda t: t.replace('"Dooley, Mr. Patrick"', '"Dooley, Mr. Patrick')),
         expect=refuse(1, "{train}, row 892: a quoted field is never closed (missing '\"')")),
    Case("stray-quote", "a quote left open in the middle, so it swallows the line break",
         text(lambda t: t.replace('"Heikkinen, Miss. Laina"', '"Heikkinen, Miss. Laina')),
         expect=refuse(1, "{train}, row 4: has 13 fields but the header has 12"),
         note="the row where the quote opens"),
    # -- columns
    Case("missing-column", "no Sex column", records(_drop("Sex")),
         expect=refuse(1, "{train}, row 1: which column is to be predicted? Name it with --target COLUMN",
                       "the header has PassengerId", "it lacks Sex"),
         note="without Kaggle's columns the lesson's recipe does not apply: --target or --recipe says what to do"),
    Case("no-name-column", "no Name column (it is optional)", records(_drop("Name"))),
    Case("extra-columns", "an extra column (`Lifeboat`)",
         records(lambda rows: [r + (["Lifeboat"] if i == 0 else ["7"]) for i, r in enumerate(rows)]),
         note="extra columns (Ticket, Cabin, ...) are ignored"),
    Case("column-order", "the columns in reverse order", records(lambda rows: [r[::-1] for r in rows])),
    Case("lowercase-header", "a header in lower case with spaces (` age `)",
         text(lambda t: t.replace("Age", " age ", 1).replace("PassengerId", "passengerid", 1))),
    Case("duplicate-column", "the Age column twice",
         records(lambda rows: [r + (["Age"] if i == 0 else ["1"]) for i, r in enumerate(rows)]),
         expect=refuse(1, "{train}, row 1, column Age: column Age appears twice in the header (columns 6 and 13)")),
    # -- numbers
    Case("na-text", "`NA` for a missing Age", cells((2, "Age", "NA")),
         note="missing, like an empty field (as are N/A, n/a, NaN, nan, null, NULL, None and ?): "
              "with --missing drop the row is left out", check=_dropped(180)),
    Case("nil-text", "`nil` for a missing Age", cells((2, "Age", "nil")),
         expect=refuse(1, "{train}, row 2, column Age: 'nil' is not a number (leave the cell empty for a "
                          "missing value)")),
    Case("nan", "`nan` as a Fare", cells((3, "Fare", "nan")),
         note="missing: the row is left out (--missing drop)", check=_dropped(180)),
    Case("inf", "`inf` as a Fare", cells((3, "Fare", "inf")),
         expect=refuse(1, "{train}, row 3, column Fare: 'inf' is not a finite number")),
    Case("fare-1e308", "a Fare of `1e308`", cells((2, "Fare", "1e308")),
         note="log10(1e308 + 1) = 308 is an ordinary feature value"),
    Case("fare-1e309", "a Fare of `1e309` (beyond float64)", cells((2, "Fare", "1e309")),
         expect=refuse(1, "{train}, row 2, column Fare: '1e309' is too large to be a finite number")),
    Case("fare-negative", "a negative Fare", cells((5, "Fare", "-8.05")),
         expect=refuse(1, "{train}, row 5, column Fare: '-8.05' is not a number >= 0")),
    Case("fare-missing", "an empty Fare, with `--missing fill`", cells((5, "Fare", "")), ("--missing", "fill"),
         note="filled with the training rows' most frequent Fare"),
    Case("age-0", "an Age of 0", cells((2, "Age", "0"))),
    Case("age-200", "an Age of 200", cells((2, "Age", "200")),
         expect=refuse(1, "{train}, row 2, column Age: '200' is not a number from 0 to 150")),
    Case("every-age-0", "every Age 0", column("Age", "0"),
         expect=refuse(1, "{train}, column Age: no training row has Age above 0, so Age_N = Age / max(Age) "
                          "is undefined")),
    Case("every-age-missing", "every Age empty", column("Age", ""),
         expect=refuse(1, "{train}: no row is complete", "try --missing fill")),
    Case("every-age-missing-fill", "every Age empty, with `--missing fill`", column("Age", ""), ("--missing", "fill"),
         expect=refuse(1, "{train}, column Age: no training row has a value, so it cannot be filled or scaled")),
    Case("sibsp-huge", "a SibSp of `1e20`", cells((4, "SibSp", "1e20")),
         expect=refuse(1, "{train}, row 4, column SibSp: '1e20' is not a whole number >= 0")),
    Case("parch-fraction", "a Parch of `0.5`", cells((4, "Parch", "0.5")),
         expect=refuse(1, "{train}, row 4, column Parch: '0.5' is not a whole number >= 0")),
    Case("pclass-0", "a Pclass of 0", cells((3, "Pclass", "0")),
         expect=refuse(1, "{train}, row 3, column Pclass: '0' is not one of 1, 2, 3")),
    Case("whole-as-float", "whole numbers written `3.0`", column("Pclass", lambda v: v + ".0")),
    Case("duplicate-id", "a PassengerId used twice", cells((4, "PassengerId", "1")),
         expect=refuse(1, "{train}, row 4, column PassengerId: PassengerId 1 appears twice (rows 2 and 4)")),
    Case("id-missing", "an empty PassengerId", cells((4, "PassengerId", "")),
         expect=refuse(1, "{train}, row 4, column PassengerId: value is missing (every row needs its ID)")),
    # -- the target
    Case("survived-2", "a Survived of 2", cells((3, "Survived", "2")),
         expect=refuse(1, "{train}, row 3, column Survived: '2' is not one of 0, 1")),
    Case("survived-nan", "a Survived of `NaN`", cells((3, "Survived", "NaN")),
         expect=warn("{train}, column Survived: 1 row without a target (row 3) left out of training"),
         note="NaN is a missing value; the row is counted in metrics.json's rows.no_target", check=_no_target(1)),
    Case("survived-missing", "an empty Survived", cells((3, "Survived", "")),
         expect=warn("{train}, column Survived: 1 row without a target (row 3) left out of training"),
         check=_no_target(1)),
    Case("single-class", "every passenger died (one class of Survived)", records(_only("Survived", "0")),
         expect=refuse(1, "{train}, column Survived: the target has one value (0) in every row used: there is "
                          "nothing to predict")),
    Case("single-class-validation", "the training rows all of one class, the validation rows not",
         records(_one_class_in_training), ("--valid-pct", "0.04"),
         expect=warn("baseline sklearn_logistic cannot be fitted (every training row's target is 0, and it needs "
                     "both classes); its scores are null"),
         note="our models train; LogisticRegression cannot, so its scores are null", check=_logistic_null,
         baselines=True),
    Case("two-rows", "two records, one of each class", records(lambda rows: rows[:3]),
         expect=warn("{train}: 2 training rows for 10 features: least squares has no single answer, so the "
                     "linear model takes the one with the smallest weights"),
         note="the models train; the linear model's weights are scikit-learn's"),
    # -- categories and text
    Case("sex-case", "Sex in capitals (`MALE`)", column("Sex", str.upper)),
    Case("sex-unknown", "a Sex of `M`", cells((2, "Sex", "M")),
         expect=refuse(1, "{train}, row 2, column Sex: 'M' is not one of male, female")),
    Case("embarked-lowercase", "Embarked in lower case (`s`)", column("Embarked", str.lower)),
    Case("embarked-unknown", "an Embarked code that is no port (`X`)", cells((3, "Embarked", "X")),
         expect=warn("{train}, row 3, column Embarked: 'X' is none of C, Q, S, the values the recipe expects; "
                     "it is used as it is"), note="Embark_S and Embark_C are 0 for it, as for Q"),
    Case("unseen-in-test", "a test file with a Sex the training rows never have (training: men only)",
         records(_only("Sex", "male")), ("--test", "{test}"),
         warn("{test}, column Sex: 152 rows ('female') hold a level the training rows never had; it has no "
              "column of its own (every one of its dummies is 0)"), setup=_unseen_test,
         note="they are predicted all the same"),
    Case("test-not-found", "`--test` naming no file", None, ("--test", "{tmp}/nope.csv"),
         refuse(1, "{tmp}/nope.csv: file not found")),
    Case("formula-name", "a Name that looks like a formula (`=HYPERLINK(...)`, `+`, `-`, `@`)",
         cells((2, "Name", '=HYPERLINK("http://x","y")'), (3, "Name", "+1"), (4, "Name", "-1"), (5, "Name", "@A1")),
         note="stored as text in the workbook, never as a formula", workbook=True,
         check=_names_are({1: '=HYPERLINK("http://x","y")', 2: "+1", 3: "-1", 4: "@A1"})),
    Case("control-characters", "control characters in a Name (`\\x07`, `\\x1b`)",
         cells((6, "Name", "Bell\x07 Escape\x1b")), workbook=True, check=_names_are({5: "Bell Escape"}),
         expect=warn("{train}, row 6, column Name: dropped control characters that a workbook cannot hold "
                     "(U+0007, U+001B)"),
         note="the workbook gets `Bell Escape`"),
    Case("text-over-a-cells-limit", "a Name of 40,000 characters (a cell holds 32,767)",
         cells((6, "Name", "x" * 40_000)), workbook=True, check=_names_are({5: "x" * 32_767}),
         expect=warn("{train}, row 6, column Name: text of 40,000 characters cut to 32,767, a cell's limit in "
                     "Excel and LibreOffice"),
         note="the workbook and torch get the first 32,767"),
    # -- any CSV: --target, --positive, --recipe
    Case("other-data-no-target", "a table that is not Titanic (penguins.csv), no --target", penguins(),
         expect=refuse(1, "{train}, row 1: which column is to be predicted? Name it with --target COLUMN",
                       "the header has species, island", "it lacks PassengerId")),
    Case("target-not-in-header", "`--target weight`, a column penguins.csv lacks", penguins(), ("--target", "weight"),
         expect=refuse(1, "{train}, row 1: the target column 'weight' is not in the header; the header has "
                          "species, island, bill_length_mm")),
    Case("target-binary-text", "penguins.csv with `--target sex` (male/female, 11 missing)", penguins(),
         ("--target", "sex"),
         expect=warn("{train}, column sex: 11 rows without a target (rows 5, 10, 11, ...) left out of training"),
         note="inferred recipe; the rarer class, male, is positive; written beside the outputs as recipe.toml",
         check=_binary_sex),
    Case("target-number", "penguins.csv with `--target body_mass_g` (grams)", penguins(), ("--target", "body_mass_g"),
         expect=warn("{train}, column body_mass_g: 2 rows without a target (rows 5, 273) left out of training"),
         note="a number: MSE, RMSE and R² in grams", check=_number_mass, baselines=True),
    Case("target-1e300", "penguins.csv with a body_mass_g of `1e300`, `--target body_mass_g`",
         lambda: PENGUINS.read_text(encoding="utf-8").replace(",181,3750,", ",181,1e300,", 1), ("--target", "body_mass_g"),
         expect=refuse(1, "{train}, row 2, column body_mass_g: '1e300' is too large to fit with: numbers beyond 1e150 "
                          "in size are refused, as their squares would overflow"),
         note="up to 1e150 in size is fitted: a square stays finite"),
    Case("input-1e300", "penguins.csv with a bill_length_mm of `-1e300`, `--target body_mass_g`",
         lambda: PENGUINS.read_text(encoding="utf-8").replace(",39.1,", ",-1e300,", 1), ("--target", "body_mass_g"),
         expect=refuse(1, "{train}, row 2, column bill_length_mm: '-1e300' is too large to fit with"),
         note="a column read as log10(x+1) takes any finite size (see fare-1e308)"),
    Case("target-classes", "penguins.csv with `--target species` (three classes)", penguins(), ("--target", "species"),
         expect=ok(),
         note="3 classes: linear and mlp:16 end in 3 outputs and a softmax, trained on cross-entropy; predictions "
              "give the class and a probability per class; the workbook has the softmax, -LN loss and confusion "
              "matrices by formula", check=_species, workbook=True),
    Case("target-dates", "`--target date`, a column of monthly dates (1967-07-01, ...), one per row",
         literal("date,unemploy\n" + "".join(f"{1967 + (6 + i) // 12}-{(6 + i) % 12 + 1:02d}-01,{2944 + 41 * i}\n"
                                              for i in range(48))),
         ("--target", "date"),
         expect=refuse(1, "{train}, column date: the target has 48 distinct values (1967-07-01, 1967-08-01, ",
                          "(48 in all)): dates, not classes: choose another --target COLUMN"),
         note="no date is suggested as --positive"),
    Case("target-free-text", "`--target name`, a different text in each of 50 rows",
         literal("name,x\n" + "".join(f"person {i},{i}\n" for i in range(50))), ("--target", "name"),
         expect=refuse(1, "{train}, column name: the target has 50 distinct values (person 0, ",
                          "free text (more than max(42, rows/100) = 42 of them), not classes")),
    Case("target-classes-positive", "`--target species --positive Gentoo`", penguins(),
         ("--target", "species", "--positive", "Gentoo"),
         note="Gentoo (1) against the other two (0); predictions say Gentoo or rest", check=_gentoo),
    Case("positive-unknown", "`--target species --positive Emperor`", penguins(),
         ("--target", "species", "--positive", "Emperor"),
         expect=refuse(1, "{train}, column species: --positive Emperor is not a value of the target; its "
                          "values: Adelie, Chinstrap, Gentoo")),
    Case("target-one-value", "a target with one value in every row", literal("x,y\n1,a\n2,a\n3,a\n4,a\n"),
         ("--target", "y"),
         expect=refuse(1, "{train}, column y: the target has one value ('a') in every row that has one: there "
                          "is nothing to predict")),
    Case("no-usable-input", "a target and an ID, nothing else", literal("id,y\n1,0\n2,1\n3,0\n4,1\n"),
         ("--target", "y"),
         expect=refuse(1, "{train}: no usable input column is left to predict y from (id: an ID: its name says "
                          "so, and every row has its own value")),
    Case("leakage", "Kaggle's file with a `Lifeboat` column (a boat number for those who survived), "
                    "`--target Survived`", records(_lifeboat), ("--target", "Survived"),
         expect=warn("{train}, column Lifeboat: alone it predicts the target almost perfectly on the training "
                     "rows (accuracy 0.97"),
         note="recorded in metrics.json (leakage), and kept: the recipe decides", check=_leak),
    Case("names-awkward", "column names with spaces, punctuation, a leading digit, letters beyond ASCII",
         literal(_awkward()), ("--target", "y = 1?"), workbook=True, check=_awkward_names,
         note="every name still reads in the workbook; its defined names are made of letters, digits and _"),
    Case("dates", "a column of dates", literal(_dated()), ("--target", "y"), check=_date_parts,
         note="date parts, as fastai's add_datepart: the month and day of week categories, the day of the year a "
              "number; the year, the same in every row, left out (the recipe says why)"),
    Case("unseen-level-test", "penguins.csv with a test file whose island is `Atlantis`", penguins(),
         ("--target", "sex", "--test", "{tmp}/penguins_test.csv"), setup=_atlantis,
         expect=warn("{tmp}/penguins_test.csv, column island: 1 row ('Atlantis') holds a level the training "
                     "rows never had; it has no column of its own"),
         note="predicted all the same; predictions.csv has row, prediction, score", check=_predictions(3)),
    Case("recipe-edited", "the lesson's recipe with Age standardised instead of divided by its maximum",
         None, ("--recipe", "{tmp}/recipe.toml"), setup=_recipe_file(_titanic_recipe("scale = \"max\"",
                                                                                      "scale = \"standard\"")),
         check=_standardised_age),
    Case("recipe-syntax", "a recipe that is not valid TOML", None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file('name = "x"\n[target\ncolumn = "Survived"\n'),
         expect=refuse(1, "{tmp}/recipe.toml, line 2: not valid TOML")),
    Case("recipe-unknown-transform", "a recipe whose Age has `kind = \"zscore\"`", None,
         ("--recipe", "{tmp}/recipe.toml"), setup=_recipe_file(_titanic_recipe(
             '[inputs.Age]\nkind = "number"', '[inputs.Age]\nkind = "zscore"')),
         expect=refuse(1, "{tmp}/recipe.toml, line 39, key inputs.Age.kind: kind 'zscore' is not a transform: "
                          "use number or category")),
    Case("recipe-unknown-scale", "a recipe with `scale = \"minmax\"`", None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe('scale = "max"', 'scale = "minmax"')),
         expect=refuse(1, "{tmp}/recipe.toml, line 42, key inputs.Age.scale: 'minmax' is not one of none, max, "
                          "standard")),
    Case("recipe-unknown-key", "a recipe with a misspelt key (`sclae`)", None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe('scale = "max"', 'sclae = "max"')),
         expect=refuse(1, "{tmp}/recipe.toml, line 42, key inputs.Age.sclae: unknown key 'sclae'")),
    Case("recipe-baseline-named-like-a-model", "a recipe whose rule baseline is `[baselines.linear]`", None,
         ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe("[baselines.everyone_dies]", "[baselines.linear]")),
         expect=refuse(1, "{tmp}/recipe.toml, line 86, key baselines.linear: the rule baseline linear has the name "
                          "of the model linear (--models): names are unique across models and baselines"),
         note="it would have taken the model's place in the scores"),
    Case("recipe-baseline-named-like-scikit-learns", "a recipe whose rule baseline is `[baselines.sklearn_gbm]`",
         None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe("[baselines.women_survive]", "[baselines.sklearn_gbm]")),
         expect=refuse(1, "{tmp}/recipe.toml, line 90, key baselines.sklearn_gbm: the rule baseline sklearn_gbm has "
                          "the name of scikit-learn's baseline sklearn_gbm")),
    Case("recipe-top-too-many", "a recipe keeping `top = 100000` levels of Name", None,
         ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe("[left_out]\nName = \"free text: shown on the Data sheet, not a feature\"",
                                            "[inputs.Name]\nkind = \"category\"\ntop = 100000\n\n[left_out]")),
         expect=refuse(1, "{tmp}/recipe.toml, line 83, key inputs.Name.top: top 100,000 would keep more levels of "
                          "Name than the 1,000 a category may")),
    Case("recipe-missing-column", "a recipe naming a column the data lacks (`Lifeboat`)", None,
         ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe("[left_out]", '[inputs.Lifeboat]\nkind = "category"\n\n[left_out]')),
         expect=refuse(1, "{train}, row 1: the recipe ({tmp}/recipe.toml) names column Lifeboat, which the file "
                          "lacks; the header has PassengerId")),
    Case("recipe-bom", "a recipe saved with a UTF-8 byte-order mark (as Windows editors do)", None,
         ("--recipe", "{tmp}/recipe.toml"), setup=_recipe_file(_titanic_recipe(), "utf-8-sig"),
         note="the mark is dropped, as for a CSV"),
    Case("recipe-nested", "a recipe whose value is an array nested 5,000 deep", None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file("x = " + "[" * 5000 + "]" * 5000 + "\n"),
         expect=refuse(1, "{tmp}/recipe.toml: not valid TOML for a recipe (arrays or tables nested too deeply)")),
    Case("recipe-name-too-long", "a recipe whose `name` has 300 characters", None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe('name = "titanic"', f'name = "{"t" * 300}"')),
         expect=refuse(1, "{tmp}/recipe.toml, line 9, key name: 300 characters is too long for the workbook's "
                          "file name: at most 200"),
         note="refused as the recipe is read, before any training"),
    Case("recipe-levels-too-many", "a recipe keeping 1,000 levels of each of 17 columns (17,002 features), with the "
         "workbook", lambda: ",".join([*(f"c{k}" for k in range(17)), "x", "y"]) + "\n" + "".join(
             ",".join([*(f"L{i}" for _ in range(17)), str(i % 7), str(i * 7 % 11)]) + "\n" for i in range(1400)),
         ("--recipe", "{tmp}/recipe.toml"), workbook=True,
         setup=_recipe_file('[target]\ncolumn = "y"\n\n' + "".join(
             f'[inputs.c{k}]\nkind = "category"\ntop = 1000\n\n' for k in range(17))
             + '[inputs.x]\nkind = "number"\n'),
         expect=refuse(1, "{train}, column c0: the recipe makes 17,002 features, 1,000 of them from this column, "
                          "more than a workbook's sheet has columns for"),
         note="found before any training"),
    Case("recipe-constant-huge", "a recipe whose constant baseline is `1e308`", None, ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe("constant = 0", "constant = 1e308")),
         expect=refuse(1, "{tmp}/recipe.toml, line 88, key baselines.everyone_dies.constant: 1e+308 is past 1e150 in "
                          "size; its squared error would overflow")),
    Case("recipe-positive-precise", "a recipe with `positive = 1.0000000000000002` (not 1)", None,
         ("--recipe", "{tmp}/recipe.toml"),
         setup=_recipe_file(_titanic_recipe("positive = 1\n", "positive = 1.0000000000000002\n")),
         expect=refuse(1, "{train}, column Survived: the positive class '1.0000000000000002' never occurs; the "
                          "target's values: 0, 1"),
         note="the class is shown with every digit it has where 15 would round it to another number"),
    Case("positive-other-than-the-recipe", "`--positive 0` with the lesson's recipe (which predicts Survived = 1)",
         None, ("--positive", "0"),
         expect=refuse(2, "Invalid value for --positive: '0', but the recipe predicts Survived = 1"),
         note="its rules and Kaggle's Survived column mean survival: change the recipe, or infer one with --target"),
    Case("target-with-spaces", "`--target \" sex \"`", penguins(), ("--target", " sex "),
         expect=warn("{train}, column sex: 11 rows without a target")),
    Case("recipe-not-found", "`--recipe` naming no file", None, ("--recipe", "{tmp}/nope.toml"),
         expect=refuse(1, "{tmp}/nope.toml: recipe file not found")),
    Case("recipe-and-other-target", "`--recipe` (predicting Survived) with `--target Sex`", None,
         ("--recipe", "{tmp}/recipe.toml", "--target", "Sex"), setup=_recipe_file(_titanic_recipe()),
         expect=refuse(2, "Invalid value for --target: 'Sex', but the recipe predicts 'Survived'")),
    # -- options
    Case("epochs-0", "`--epochs 0`", None, ("--epochs", "0"), refuse(2, "Invalid value for '--epochs': 0 is not in the range 1<=x<=100000")),
    Case("epochs-negative", "`--epochs -5`", None, ("--epochs", "-5"),
         refuse(2, "Invalid value for '--epochs': -5 is not in the range 1<=x<=100000")),
    Case("epochs-huge", "`--epochs 100000000`", None, ("--epochs", "100000000"),
         refuse(2, "Invalid value for '--epochs': 100000000 is not in the range 1<=x<=100000"),
         note="every start's loss history is kept until the best start is known: the bound keeps it in memory"),
    Case("descent-steps-negative", "`--descent-steps -1`", None, ("--descent-steps", "-1"),
         refuse(2, "Invalid value for '--descent-steps': -1 is not in the range 0<=x<=1000")),
    Case("restarts-0", "`--restarts 0`", None, ("--restarts", "0"), refuse(2, "Invalid value for '--restarts': 0 is not in the range 1<=x<=1024")),
    Case("restarts-huge", "`--restarts 100000`", None, ("--restarts", "100000"),
         refuse(2, "Invalid value for '--restarts': 100000 is not in the range 1<=x<=1024")),
    Case("lr-0", "`--lr 0`", None, ("--lr", "0"), refuse(2, "Invalid value for '--lr': 0.0 is not a finite number above 0")),
    Case("lr-negative", "`--lr -0.1`", None, ("--lr", "-0.1"),
         refuse(2, "Invalid value for '--lr': -0.1 is not a finite number above 0")),
    Case("lr-nan", "`--lr nan`", None, ("--lr", "nan"),
         refuse(2, "Invalid value for '--lr': nan is not a finite number above 0")),
    Case("valid-pct-1", "`--valid-pct 1`", None, ("--valid-pct", "1"), refuse(2, "Invalid value for '--valid-pct': 1.0 is not in [0, 1)")),
    Case("valid-pct-negative", "`--valid-pct -0.1`", None, ("--valid-pct", "-0.1"),
         refuse(2, "Invalid value for '--valid-pct': -0.1 is not in [0, 1)")),
    Case("valid-pct-0", "`--valid-pct 0`", None, ("--valid-pct", "0"), check=_no_valid_rows,
         note="no validation rows: the valid_ scores are null"),
    Case("valid-pct-tiny", "`--valid-pct 0.0001` (rounds to no validation row)", None, ("--valid-pct", "0.0001"),
         check=_no_valid_rows),
    Case("valid-pct-all", "`--valid-pct 0.9999` (rounds to no training row)", None, ("--valid-pct", "0.9999"),
         refuse(1, "{train}: a validation share of 0.9999 leaves no training row")),
    Case("device-unknown", "`--device tpu`", None, ("--device", "tpu"), refuse(2, "Invalid value for '--device': 'tpu' is not one of 'auto', 'cpu', 'cuda'")),
    Case("model-unknown", "`--submit-model forest`", None, ("--submit-model", "forest"),
         refuse(2, "Invalid value for --submit-model: 'forest' is no model of this run: choose from linear, "
                   "two_relu, sklearn_linear"), baselines=True),
    Case("models-unknown", "`--models linear,forest`", None, ("--models", "linear,forest"),
         refuse(2, "Invalid value for --models: unknown model 'forest': choose from linear, two_relu, logistic, "
                   "relus:N, mlp:H[-H2[-H3]][:sigmoid]")),
    Case("models-twice", "`--models linear,relus:2,linear`", None, ("--models", "linear,relus:2,linear"),
         refuse(2, "Invalid value for --models: linear is named twice")),
    Case("models-empty", "`--models ''`", None, ("--models", ""),
         refuse(2, "Invalid value for --models: unknown model ''")),
    Case("models-zero-units", "`--models relus:0`", None, ("--models", "relus:0"),
         refuse(2, "Invalid value for --models: relus:0: a layer has 1 to 4,096 units, not 0")),
    Case("models-too-wide", "`--models mlp:4096-4096-4096` with the workbook (its sheet would pass 16,384 "
         "columns)", None, ("--models", "mlp:4096-4096-4096"),
         refuse(2, "Invalid value for --models: model mlp:4096-4096-4096: its sheet needs 24,582 columns, past a "
                   "sheet's 16,384; choose fewer units, or leave the workbook out"),
         workbook=True, note="found before any training"),
    Case("models-too-big", "`--models mlp:4096-4096-4096 --no-workbook` (33.6 million parameters)", None,
         ("--models", "mlp:4096-4096-4096"),
         refuse(2, "Invalid value for --models: model mlp:4096-4096-4096: 33,607,681 parameters x 2 starts is past "
                   "the 20,000,000 numbers a fit may train at once"),
         note="found before any training"),
    Case("models-too-many", "`--models relus:1,relus:2,...,relus:33`", None,
         ("--models", ",".join(f"relus:{k}" for k in range(1, 34))),
         refuse(2, "Invalid value for --models: 33 models named; one fit takes at most 32"),
         note="found before the file is read"),
    Case("sheet-rows-too-many-cells", "`--sheet-rows 1000000` on 50,000 rows (Kaggle's, repeated), all filled",
         _repeated(50_000), ("--sheet-rows", "1000000", "--missing", "fill", "--test", ""),
         refuse(2, "Invalid value for --sheet-rows: 1,000,000 rows would put 50,000 rows x 21 columns = 1,050,000 "
                   "cells on a sheet, past the 1,000,000 a workbook may hold", "at most about 47,619 rows here"),
         workbook=True, note="found before any training"),
    Case("optimizer-unknown", "`--optimizer lbfgs`", None, ("--optimizer", "lbfgs"), refuse(2, "Invalid value for '--optimizer': 'lbfgs' is not one of 'auto', 'sgd', 'momentum', 'adam'")),
    Case("seed-negative", "`--seed -1`", None, ("--seed", "-1"), refuse(2, "Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295")),
    # -- outputs
    Case("out-missing", "`--out` a folder that does not exist yet (nor its parent)", None,
         ("--out", "{tmp}/new/out"), note="created, parents too"),
    Case("out-has-old-outputs", "`--out` a folder with an old metrics.json and a file of the user's", None,
         setup=_out_has_old_outputs, check=_old_outputs_replaced,
         note="the outputs are replaced; other files are left alone"),
    Case("out-is-a-file", "`--out` a file", None, setup=_out_is_file,
         expect=refuse(2, "Invalid value for --out: {tmp}/out is a file, not a folder")),
    Case("out-parent-is-a-file", "`--out results/run1` where results is a file", None, setup=_out_parent_is_file,
         expect=refuse(2, "Invalid value for --out: cannot create {out}: {tmp}/results is a file")),
    Case("output-is-a-folder", "`--out` a folder in which metrics.json is a folder", None, setup=_output_is_folder,
         expect=refuse(2, "Invalid value for --out: {tmp}/out/metrics.json is a folder, "
                                     "where the output file metrics.json goes")),
    Case("test-in-out", "`--test OUT/submission.csv --out OUT`: the test rows where an output goes", None,
         ("--test", "{in_out}"), setup=_input_in_out("submission.csv", TEST),
         expect=refuse(2, "Invalid value for --out: {in_out} is the --test file, which this run reads; the output "
                          "submission.csv would replace it"), note="found before any training"),
    Case("train-in-out", "DATA named `OUT/metrics.json`", train="{in_out}", setup=_input_in_out("metrics.json", TRAIN),
         expect=refuse(2, "Invalid value for --out: {in_out} is the training data, which this run reads")),
    Case("train-hard-link-in-out", "`OUT/metrics.json` a hard link to DATA", None,
         setup=_input_in_out("metrics.json", TRAIN, link=True), train="{tmp}/mine/train.csv",
         expect=refuse(2, "Invalid value for --out: {in_out} is the training data, which this run reads"),
         note="the same file by another name: the same device and inode"),
    Case("recipe-in-out", "`--recipe OUT/recipe.toml --out OUT`", None, ("--recipe", "{in_out}"),
         setup=_input_in_out("recipe.toml", ROOT / "titanic_reg" / "recipes" / "titanic.toml"),
         expect=refuse(2, "Invalid value for --out: {in_out} is the --recipe file, which this run reads")),
    Case("out-not-writable", "`--out` inside a folder nobody may write to", None, setup=_out_not_writable,
         expect=refuse(2, "Invalid value for --out: cannot create {out}:", "is not writable (permission denied)"),
         note="found before any training"),
]


# --------------------------------------------------------------------------- running a case


def _fill(value: str, places: dict) -> str:
    return value.format(**places)


def _state(path: Path):
    """What is at path: None, or {name: bytes} of a folder's files, or a file's bytes."""
    if not path.exists():
        return None
    if path.is_file():
        return path.read_bytes()
    return {p.relative_to(path).as_posix(): (p.read_bytes() if p.is_file() else "dir")
            for p in sorted(path.rglob("*"))}


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_catalogue(case: Case, tmp_path, worker_in_process):
    from click.testing import CliRunner

    from tests.helpers import NO_BASELINES
    from titanic_reg import cli

    places = {"tmp": str(tmp_path), "test": str(TEST), "out": str(tmp_path / "out")}
    if case.setup:
        places.update(case.setup(tmp_path))
    if case.train is not None:
        train = Path(_fill(case.train, places))
    elif case.csv is None:
        train = TRAIN
    else:
        content = case.csv()
        train = tmp_path / "train.csv"
        train.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    places["train"] = str(train)

    options = [_fill(o, places) for o in case.options]
    if "--out" not in options:
        options += ["--out", places["out"]]
    out = Path(options[options.index("--out") + 1])
    before = _state(out)
    quick = [] if case.workbook else ["--no-workbook"]  # and small runs, unless the case says otherwise
    quick += [] if case.baselines else list(NO_BASELINES)
    for name, value in (("--epochs", "5"), ("--restarts", "2")) + ((("--descent-steps", "2"),) if case.workbook else ()):
        if name not in options:
            quick += [name, value]
    try:
        result = CliRunner().invoke(cli.main, ["fit", str(train), *quick, *options])
    finally:
        if os.geteuid() != 0 and case.setup is _out_not_writable:
            (tmp_path / "locked").chmod(0o755)

    err = result.stderr
    lines = [line for line in err.splitlines() if line.strip()]
    words = [_fill(w, places) for w in case.expect.words]
    assert "Traceback" not in err + result.stdout, err
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)

    if case.expect.kind in ("ok", "warn"):
        assert result.exit_code == 0, err
        assert all(line.startswith("warning: ") for line in lines), err
        warnings = [line for line in lines if line.startswith("warning: ")]
        if case.csv is None and case.name != "kaggle" and "--test" not in options:
            # Kaggle's test.csv lacks one Fare that its train.csv never lacks: "kaggle" tests that warning.
            warnings = [line for line in warnings if line != f"warning: {TEST}, {KAGGLE_FARE}"]
        if case.expect.kind == "ok":
            assert warnings == [], err
        else:
            assert any(all(w in line for w in words) for line in warnings), (words, err)
        metrics = json.loads((out / "metrics.json").read_text(), parse_constant=pytest.fail)
        assert (out / "loss.png").is_file()
        if case.check:
            case.check(metrics, out)
        return

    assert result.exit_code == case.expect.code, (result.exit_code, err)
    if case.expect.code == 1:
        *first, last = lines
        assert all(line.startswith("warning: ") for line in first), err
        assert last.startswith("error: "), err
        message = last
    else:  # click's usage error: Usage / Try / Error lines
        message = next(line for line in lines if line.startswith("Error: "))
    for w in words:
        assert w in message, (w, message)
    assert _state(out) == before  # nothing written, not even the folder


# --------------------------------------------------------------------------- the docs


def _doc_words(text: str) -> str:
    return (text.replace("{train}", "train.csv").replace("{test}", "test.csv").replace("{tmp}/", "")
            .replace("{tmp}", "FOLDER").replace("{out}", "OUT"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def outcome(case: Case) -> str:
    e = case.expect
    quoted = "; ".join(f"`{_doc_words(w)}`" for w in e.words)
    if e.kind == "ok":
        what = "**accepted**"
    elif e.kind == "warn":
        what = f"**accepted with a warning**: {quoted}"
    elif e.code == 2:
        what = f"**usage error**, exit 2: {quoted}"
    else:
        what = f"**refused**, exit 1: {quoted}"
    return what + (f"; {case.note}" if case.note else "")


def render() -> str:
    lines = [
        "# Input catalogue",
        "",
        "Generated from `tests/test_catalogue.py` (`CATALOGUE`), where each row is a test that runs",
        "`titanic-reg fit` on the input; regenerate with",
        "`.venv/bin/python tests/test_catalogue.py > docs/input-catalogue.md`.",
        "",
        "Three outcomes:",
        "",
        "* **accepted**: exit 0, the outputs written, nothing on stderr;",
        "* **accepted with a warning**: exit 0, the outputs written, and one line on stderr",
        "  starting `warning:` that says what was done;",
        "* **refused**: exit 1 with one line, `error:` and a message naming the file, the row",
        "  (the header is row 1; blank lines count) and the column; a bad option is a usage",
        "  error, exit 2. Either way no traceback, and nothing is written: the `--out` folder",
        "  is not even created.",
        "",
        "Quoted text is part of the message (`train.csv` stands for the file's path).",
        "",
        "| case | input | what happens |",
        "|---|---|---|",
    ]
    for case in CATALOGUE:
        lines.append(f"| `{case.name}` | {_cell(case.input)} | {_cell(outcome(case))} |")
    lines.append("")
    return "\n".join(lines)


def test_the_docs_match_the_catalogue():
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/input-catalogue.md is stale: .venv/bin/python tests/test_catalogue.py > docs/input-catalogue.md"


def test_the_catalogue_is_big_enough_and_names_are_unique():
    names = [c.name for c in CATALOGUE]
    assert len(names) == len(set(names))
    assert len(CATALOGUE) >= 30
    kinds = {c.expect.kind for c in CATALOGUE}
    assert kinds == {"ok", "warn", "refuse"}


if __name__ == "__main__":
    sys.stdout.write(render())
