"""Reading CSVs (titanic_reg.table) and the lesson's recipe's columns and checks (titanic_reg.data)."""

import csv
import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from titanic_reg.data import load
from titanic_reg.errors import InputError, InputWarning
from titanic_reg.recipe import titanic
from titanic_reg.table import read_table

DATA = Path(__file__).resolve().parents[1] / "data"

HEADER = "PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked"
ROW1 = '1,0,3,"Braund, Mr. Owen Harris",male,22,1,0,A/5 21171,7.25,,S'
ROW2 = '2,1,1,"Cumings, Mrs. John",female,38,1,0,PC 17599,71.2833,C85,C'
ROW3 = '3,1,3,"Heikkinen, Miss. Laina",female,26,0,0,STON/O2. 3101282,7.925,,S'

TRAIN_COLUMNS = ["row", "PassengerId", "Survived", "Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Fare",
                 "Embarked"]
TEST_COLUMNS = [c for c in TRAIN_COLUMNS if c != "Survived"]


def load_csv(path, labelled):
    """The lesson's recipe's columns of a file, as one DataFrame (the way the tests read them)."""
    rows = load(read_table(path), titanic(), labelled=labelled)
    out = {"row": rows.row, "PassengerId": rows.id}
    if labelled:
        out["Survived"] = rows.target
    out["Pclass"] = rows.columns["Pclass"]
    out["Name"] = rows.show.get("Name", np.full(len(rows), "", dtype=object))
    for c in ("Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"):
        out[c] = rows.columns[c]
    for c in ("Pclass", "Sex", "Embarked", "Name"):
        out[c] = pd.Series(out[c], dtype=object)
    return pd.DataFrame(out)


def write(tmp_path, text, name="t.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_text(*rows, header=HEADER, nl="\n"):
    return nl.join((header,) + rows) + nl


def with_value(row, column, value, header=HEADER):
    """ROW-like string with one field replaced (no quoted commas outside Name)."""
    fields = next(csv.reader([row]))
    fields[header.split(",").index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def raises(path, labelled=True):
    with pytest.raises(InputError) as info:
        load_csv(path, labelled=labelled)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return info.value


# -- the real files ---------------------------------------------------------


def test_real_train():
    df = load_csv(DATA / "train.csv", labelled=True)
    assert list(df.columns) == TRAIN_COLUMNS
    assert len(df) == 891
    assert df["Age"].isna().sum() == 177
    assert df["Embarked"].isna().sum() == 2
    assert df["Fare"].isna().sum() == 0
    assert df["PassengerId"].dtype == np.int64 and df["Survived"].dtype == np.float64
    for c in ("Age", "SibSp", "Parch", "Fare"):
        assert df[c].dtype == np.float64
    # Categories are text, numbers written canonically: Pclass 3 is "3".
    assert df["Sex"].dtype == object and df["Embarked"].dtype == object and df["Pclass"].dtype == object
    first = df.iloc[0]
    assert first["row"] == 2
    assert first["PassengerId"] == 1
    assert first["Survived"] == 0
    assert first["Pclass"] == "3"
    assert first["Name"] == "Braund, Mr. Owen Harris"
    assert first["Sex"] == "male"
    assert first["Age"] == 22
    assert first["SibSp"] == 1 and first["Parch"] == 0
    assert first["Fare"] == 7.25
    assert first["Embarked"] == "S"
    assert df["row"].iloc[-1] == 892
    assert set(df["Sex"]) == {"male", "female"}
    assert set(df["Pclass"]) == {"1", "2", "3"}
    assert set(df["Embarked"].dropna()) == {"C", "Q", "S"}
    assert df.loc[df["Embarked"].isna(), "Embarked"].tolist() == [None, None]
    assert df["Survived"].sum() == 342


def test_real_test():
    df = load_csv(DATA / "test.csv", labelled=False)
    assert list(df.columns) == TEST_COLUMNS
    assert len(df) == 418
    assert df["Fare"].isna().sum() == 1
    assert df["Age"].isna().sum() == 86
    assert df["PassengerId"].iloc[0] == 892


def test_the_lessons_recipe_names_kaggles_columns():
    recipe = titanic()
    assert (recipe.target.column, recipe.id) == ("Survived", "PassengerId")
    assert recipe.columns == ["SibSp", "Parch", "Age", "Fare", "Pclass", "Embarked", "Sex"]


# -- file-level errors ------------------------------------------------------


def test_missing_file(tmp_path):
    e = raises(tmp_path / "nope.csv")
    assert "not found" in str(e)


def test_directory(tmp_path):
    d = tmp_path / "adir.csv"
    d.mkdir()
    assert "directory" in str(raises(d))


def test_permission_denied(tmp_path, monkeypatch):
    path = write(tmp_path, csv_text(ROW1))

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert "permission denied" in str(raises(path))


def test_binary_garbage(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert "binary" in str(raises(path))


def test_xlsx_renamed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 40)
    assert "save it as CSV" in str(raises(path))


@pytest.mark.parametrize("text", ["", "\n\n", "  \r\n"])
def test_empty_file(tmp_path, text):
    assert "empty" in str(raises(write(tmp_path, text)))


@pytest.mark.parametrize("text", [HEADER + "\n", HEADER, HEADER + "\n\n,,,,,,,,,,,\n"])
def test_header_only(tmp_path, text):
    assert "no data rows" in str(raises(write(tmp_path, text)))


def test_missing_column(tmp_path):
    header = HEADER.replace("Survived,", "")
    row = ROW1.replace("1,0,3,", "1,3,", 1)
    e = raises(write(tmp_path, csv_text(row, header=header)))
    assert "Survived" in str(e)
    assert "PassengerId, Pclass, Name" in str(e)  # lists what was found
    assert e.row == 1
    # ...but a test file does not need it
    df = load_csv(write(tmp_path, csv_text(row, header=header), name="u.csv"), labelled=False)
    assert list(df.columns) == TEST_COLUMNS


def test_several_missing_columns(tmp_path):
    e = raises(write(tmp_path, "PassengerId,Pclass,Sex\n1,2,male\n"))
    for c in ("Survived", "Age", "SibSp", "Parch", "Fare", "Embarked"):
        assert c in str(e)


def test_duplicate_header_column(tmp_path):
    e = raises(write(tmp_path, csv_text(ROW1 + ",30", header=HEADER + ",Age")))
    assert e.column == "Age" and e.row == 1


def test_too_many_fields(tmp_path):
    e = raises(write(tmp_path, csv_text(ROW1, ROW2 + ",x,y")))
    assert e.row == 3
    assert "13" in str(e) or "14" in str(e)


def test_unclosed_quote(tmp_path):
    e = raises(write(tmp_path, "\n" + csv_text(ROW1, "", '2,1,1,"Cumings, Mrs,female,38,1,0,PC,71.2,,C', ROW3)))
    assert "quote" in str(e)
    assert e.row == 5


# -- value errors -----------------------------------------------------------

BAD_VALUES = [
    ("Age", "abc", "not a number"),
    ("Age", "-1", "from 0 to 150"),
    ("Age", "151", "from 0 to 150"),
    ("Age", "inf", "finite"),
    ("Age", "nil", "empty"),
    ("SibSp", "1.5", "whole"),
    ("SibSp", "-1", "whole"),
    ("Parch", "x", "not a number"),
    ("Fare", "-0.5", ">= 0"),
    ("Fare", "Infinity", "finite"),
    ("Pclass", "4", "one of 1, 2, 3"),
    ("Pclass", "0", "one of 1, 2, 3"),
    ("Pclass", "first", "one of 1, 2, 3"),
    ("Sex", "m", "one of male, female"),
    ("Survived", "2", "one of 0, 1"),
    ("Survived", "yes", "not a number"),
    ("PassengerId", "", "missing"),
    ("PassengerId", "1.5", "whole"),
    ("PassengerId", "a1", "whole"),
    ("Age", "1_0", "not a number"),
]


@pytest.mark.parametrize("column,value,words", BAD_VALUES)
def test_bad_value(tmp_path, column, value, words):
    path = write(tmp_path, csv_text(ROW1, ROW2, with_value(ROW3, column, value)))
    e = raises(path)
    assert e.row == 4
    assert e.column == column
    assert f"row 4, column {column}" in str(e)
    assert words in str(e)


def test_first_bad_row_wins_and_counts(tmp_path):
    rows = [with_value(ROW1, "Fare", "-1"), with_value(ROW2, "Age", "x"), with_value(ROW3, "Age", "y")]
    e = raises(write(tmp_path, csv_text(*rows)))
    assert (e.row, e.column) == (2, "Fare")
    e = raises(write(tmp_path, csv_text(ROW1, *rows[1:]), name="u.csv"))
    assert (e.row, e.column) == (3, "Age")
    assert "1 more" in str(e)


def test_duplicate_passenger_id(tmp_path):
    e = raises(write(tmp_path, csv_text(ROW1, ROW2, with_value(ROW3, "PassengerId", "1"))))
    assert e.row == 4 and e.column == "PassengerId"
    assert "rows 2 and 4" in str(e)


@pytest.mark.parametrize("marker", ["", "NA", "N/A", "n/a", "nan", "NaN", "null", "NULL", "None", "?"])
def test_missing_markers(tmp_path, marker):
    """The usual ways of writing "missing" are missing, in numbers, levels and the target alike."""
    df = load_csv(write(tmp_path, csv_text(with_value(with_value(with_value(ROW1, "Age", marker), "Embarked", marker),
                                                      "Survived", marker), ROW2)), labelled=True)
    assert math.isnan(df["Age"].iloc[0]) and df["Embarked"].iloc[0] is None and math.isnan(df["Survived"].iloc[0])


def test_row_numbers_count_blank_lines(tmp_path):
    text = "\n" + HEADER + "\n" + ROW1 + "\n\n   \n" + with_value(ROW2, "Age", "abc") + "\n"
    e = raises(write(tmp_path, text))
    assert e.row == 6


def test_row_numbers_crlf_and_embedded_newline(tmp_path):
    row2 = ROW2.replace("Cumings, Mrs. John", "Cumings,\r\nMrs. John")
    text = csv_text(row2, with_value(ROW3, "Sex", "x"), nl="\r\n")
    e = raises(write(tmp_path, text))
    assert e.row == 3  # spreadsheet row: the multi-line record is one row


# -- formats that load ------------------------------------------------------


def rows_of(df):
    return df.drop(columns=["row"]).to_dict("records")


@pytest.fixture
def plain(tmp_path):
    return load_csv(write(tmp_path, csv_text(ROW1, ROW2, ROW3), name="plain.csv"), labelled=True)


def test_plain(plain):
    assert list(plain.columns) == TRAIN_COLUMNS
    assert plain["row"].tolist() == [2, 3, 4]
    assert plain["Name"].tolist()[1] == "Cumings, Mrs. John"


def test_utf8_bom(tmp_path, plain):
    df = load_csv(write(tmp_path, csv_text(ROW1, ROW2, ROW3), encoding="utf-8-sig"), labelled=True)
    assert rows_of(df) == rows_of(plain)


def test_crlf(tmp_path, plain):
    df = load_csv(write(tmp_path, csv_text(ROW1, ROW2, ROW3, nl="\r\n")), labelled=True)
    assert rows_of(df) == rows_of(plain)
    assert df["row"].tolist() == [2, 3, 4]


def test_latin1_name(tmp_path):
    row = ROW1.replace("Braund, Mr. Owen Harris", "Müller, Mr. José")
    df = load_csv(write(tmp_path, csv_text(row, ROW2), encoding="latin-1"), labelled=True)
    assert df["Name"].iloc[0] == "Müller, Mr. José"


def test_utf8_name(tmp_path):
    row = ROW1.replace("Braund, Mr. Owen Harris", "Müller, Mr. José")
    df = load_csv(write(tmp_path, csv_text(row, ROW2)), labelled=True)
    assert df["Name"].iloc[0] == "Müller, Mr. José"


def test_semicolon_decimal_comma(tmp_path):
    text = (HEADER.replace(",", ";") + "\n"
            + '1;0;3;"Braund, Mr. Owen";male;22,5;1;0;A/5;7,25;;S\n'
            + '2;1;1;"Cumings; Mrs";female;38;1;0;PC;71.2833;C85;C\n')
    df = load_csv(write(tmp_path, text), labelled=True)
    assert df["Age"].tolist() == [22.5, 38.0]
    assert df["Fare"].tolist() == [7.25, 71.2833]
    assert df["Name"].tolist() == ["Braund, Mr. Owen", "Cumings; Mrs"]


def test_decimal_comma_is_an_error_in_comma_files(tmp_path):
    e = raises(write(tmp_path, csv_text(ROW1, with_value(ROW2, "Age", "22,5"))))
    assert (e.row, e.column) == (3, "Age")


def test_columns_in_other_order(tmp_path, plain):
    cols = HEADER.split(",")
    order = list(reversed(range(len(cols))))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for line in [HEADER, ROW1, ROW2, ROW3]:
        fields = next(csv.reader([line]))
        w.writerow([fields[i] for i in order])
    df = load_csv(write(tmp_path, out.getvalue()), labelled=True)
    assert list(df.columns) == TRAIN_COLUMNS
    assert rows_of(df) == rows_of(plain)


def test_blank_lines(tmp_path, plain):
    text = "\n\n" + HEADER + "\n" + ROW1 + "\n\n" + ROW2 + "\n  \n,,,,,,,,,,,\n" + ROW3 + "\n\n\n"
    df = load_csv(write(tmp_path, text), labelled=True)
    assert rows_of(df) == rows_of(plain)
    assert df["row"].tolist() == [4, 6, 9]
    assert isinstance(df.index, pd.RangeIndex) and df.index.tolist() == [0, 1, 2]


def test_whitespace_quotes_and_case(tmp_path):
    row = ' 1 , "0" , 3 ,"  Braund, Mr. Owen  ", MALE ,"22", 1 ,0,x, 7.25 ,, s '
    header = " " + HEADER.replace(",", " , ") + " "
    df = load_csv(write(tmp_path, csv_text(row, header=header)), labelled=True)
    r = df.iloc[0]
    assert (r["PassengerId"], r["Survived"], r["Pclass"], r["Age"], r["Fare"]) == (1, 0, "3", 22, 7.25)
    assert (r["Name"], r["Sex"], r["Embarked"]) == ("Braund, Mr. Owen", "male", "S")


def test_lowercase_header(tmp_path):
    df = load_csv(write(tmp_path, csv_text(ROW1, header=HEADER.lower())), labelled=True)
    assert df["Age"].iloc[0] == 22


def test_missing_values(tmp_path):
    row = "5,1,,,,,,,,,,"
    df = load_csv(write(tmp_path, csv_text(ROW1, row)), labelled=True)
    r = df.iloc[1]
    assert r["PassengerId"] == 5 and r["Survived"] == 1
    for c in ("Age", "SibSp", "Parch", "Fare"):
        assert math.isnan(r[c])
    assert r["Pclass"] is None and r["Sex"] is None and r["Embarked"] is None and r["Name"] == ""


def test_name_absent_and_extras_dropped(tmp_path):
    header = "Extra,PassengerId,Survived,Pclass,Sex,Age,SibSp,Parch,Fare,Embarked,Cabin"
    df = load_csv(write(tmp_path, csv_text("zz,1,0,3,male,0.42,0,1,8.5,Q,C1", header=header)), labelled=True)
    assert list(df.columns) == TRAIN_COLUMNS
    assert df["Name"].tolist() == [""]
    assert df["Age"].iloc[0] == 0.42


def test_whole_numbers_written_as_floats(tmp_path):
    row = "1.0,1.0,2.0,x,female,30,1.0,0.0,t,10,,C"
    df = load_csv(write(tmp_path, csv_text(row)), labelled=True)
    assert (df["PassengerId"].iloc[0], df["Survived"].iloc[0], df["Pclass"].iloc[0]) == (1, 1, "2")


def test_unlabelled_drops_survived(tmp_path):
    df = load_csv(write(tmp_path, csv_text(ROW1, with_value(ROW2, "Survived", ""))), labelled=False)
    assert list(df.columns) == TEST_COLUMNS


# -- values a test file has that training never had ------------------------------------


def _fitted(tmp_path, *train_rows):
    from titanic_reg.features import fit_recipe

    recipe = titanic()
    rows = load(read_table(write(tmp_path, csv_text(*train_rows), name="train.csv")), recipe, labelled=True)
    return recipe, fit_recipe(recipe, rows)


def _unseen(tmp_path, recipe, fitted, *test_rows):
    from titanic_reg.data import unseen_levels

    test = load(read_table(write(tmp_path, csv_text(*test_rows), name="test.csv")), recipe, labelled=False,
                numeric=fitted.numeric)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unseen_levels(test, recipe, fitted.stats)
    return [str(w.message) for w in caught if issubclass(w.category, InputWarning)], test, fitted.matrix(test)


def test_an_unseen_port_is_used_with_a_warning_and_no_dummy(tmp_path):
    recipe, fitted = _fitted(tmp_path, ROW1, ROW2, ROW3)
    said, test, X = _unseen(tmp_path, recipe, fitted, ROW1, ROW2, with_value(ROW3, "Embarked", "x"))
    assert test.columns["Embarked"][2] == "X"  # read upper-cased, as the recipe says
    assert len(said) == 1 and "column Embarked" in said[0] and "'X'" in said[0] and "1 row" in said[0]
    names = fitted.names
    assert X[2, names.index("Embark_S")] == 0 and X[2, names.index("Embark_C")] == 0


def test_a_value_seen_in_training_is_no_news(tmp_path):
    recipe, fitted = _fitted(tmp_path, ROW1, with_value(ROW2, "Embarked", "Q"), ROW3)
    said, _, _ = _unseen(tmp_path, recipe, fitted, ROW1, with_value(ROW2, "Embarked", ""), ROW3)
    assert said == []


def test_a_sex_training_never_had_is_warned_about(tmp_path):
    recipe, fitted = _fitted(tmp_path, ROW1)  # males only
    said, _, X = _unseen(tmp_path, recipe, fitted, ROW1, with_value(with_value(ROW2, "Pclass", "3"), "Embarked", "S"))
    assert len(said) == 1 and "column Sex" in said[0] and "'female'" in said[0]
    assert X[1, fitted.names.index("Male")] == 0


def test_tab_delimited(tmp_path, plain):
    out = io.StringIO()
    w = csv.writer(out, delimiter="\t", lineterminator="\n")
    for line in [HEADER, ROW1, ROW2, ROW3]:
        w.writerow(next(csv.reader([line])))
    df = load_csv(write(tmp_path, out.getvalue()), labelled=True)
    assert rows_of(df) == rows_of(plain)


def test_trailing_empty_fields_are_ignored(tmp_path, plain):
    df = load_csv(write(tmp_path, csv_text(ROW1 + ",,", ROW2, ROW3 + ", ")), labelled=True)
    assert rows_of(df) == rows_of(plain)


def test_cr_line_ends(tmp_path, plain):
    df = load_csv(write(tmp_path, csv_text(ROW1, ROW2, ROW3, nl="\r")), labelled=True)
    assert rows_of(df) == rows_of(plain)
    assert df["row"].tolist() == [2, 3, 4]


def test_bom_then_windows_1252(tmp_path):
    row = ROW1.replace("Braund, Mr. Owen Harris", "O\u2019Brien, Mr. Tim")
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(row).encode("cp1252"))
    df = load_csv(path, labelled=True)
    assert df["Name"].iloc[0] == "O\u2019Brien, Mr. Tim"


# --------------------------------------------------------------------------- UTF-16 (Excel's "Unicode text")
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_tabs_reads_as_the_utf8_csv(tmp_path, encoding):
    """Excel's "Save as Unicode text" writes UTF-16 LE with a byte-order mark, tab-separated."""
    penguins = Path(__file__).resolve().parents[1] / "data" / "penguins.csv"
    records = list(csv.reader(io.StringIO(penguins.read_text(encoding="utf-8"))))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerows(records)
    path = tmp_path / "penguins.txt"
    path.write_bytes("\ufeff".encode(encoding) + buffer.getvalue().encode(encoding))
    utf16, utf8 = read_table(path), read_table(penguins)
    assert utf16.header == utf8.header
    assert list(utf16.rows) == list(utf8.rows)
    for a, b in zip(utf16.columns, utf8.columns):
        assert list(a.values()) == list(b.values())


def test_a_utf16_file_fits_to_the_same_numbers_as_the_utf8_csv(tmp_path):
    import titanic_reg

    penguins = Path(__file__).resolve().parents[1] / "data" / "penguins.csv"
    path = tmp_path / "penguins.txt"
    path.write_bytes(penguins.read_text(encoding="utf-8").replace(",", "\t").encode("utf-16"))
    options = dict(target="body_mass_g", epochs=20, restarts=1, descent_steps=0, baselines=None)
    a, b = titanic_reg.fit(path, **options), titanic_reg.fit(penguins, **options)
    assert a.recipe.columns == b.recipe.columns
    for name in b.runs:
        assert a.runs[name].scores["valid_mse"] == b.runs[name].scores["valid_mse"]
        assert a.runs[name].trained.params.tolist() == b.runs[name].trained.params.tolist()


def test_a_broken_utf16_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe" + "a\tb\r\n1\t2\r\n".encode("utf-16-le") + b"\x00\xd8")  # a lone high surrogate
    with pytest.raises(InputError, match=r"broken\.csv: starts as UTF-16 but is not valid UTF-16"):
        read_table(path)


# --------------------------------------------------------------------------- numbers near a double's limits
PENGUINS_CSV = Path(__file__).resolve().parents[1] / "data" / "penguins.csv"


def _penguins(tmp_path, old, new) -> Path:
    text = PENGUINS_CSV.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "penguins.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "column"), [
    (",181,3750,", ",181,1e300,", "body_mass_g"),     # the target
    (",39.1,", ",-1e151,", "bill_length_mm"),         # an input
])
def test_a_number_whose_square_overflows_is_refused_naming_row_and_column(tmp_path, old, new, column):
    import titanic_reg

    path = _penguins(tmp_path, old, new)
    with pytest.raises(InputError) as caught:
        titanic_reg.fit(path, target="body_mass_g", epochs=2, restarts=1, baselines=None)
    assert (caught.value.row, caught.value.column) == (2, column)
    assert f"{new.strip(',').split(',')[-1]!r} is too large to fit with: numbers beyond 1e150" in str(caught.value)


def test_numbers_up_to_1e150_fit_and_make_a_workbook(tmp_path):
    """The limit leaves room: a target and an input of 1e150 in size train, score finite, and
    the workbook writes every number (xlsxwriter refuses NaN and infinity)."""
    import titanic_reg

    text = PENGUINS_CSV.read_text(encoding="utf-8").replace(",181,3750,", ",181,1e150,", 1)
    path = tmp_path / "penguins.csv"
    path.write_text(text.replace(",39.5,", ",-1e150,", 1), encoding="utf-8")
    result = titanic_reg.fit(path, target="body_mass_g", epochs=5, restarts=1, descent_steps=2, baselines=None)
    for run in result.runs.values():
        mse = [run.scores["train_mse"], run.scores["valid_mse"]]
        assert all(math.isfinite(v) for v in mse) and max(mse) > 1e290, mse  # the 1e150 row's error, squared
    assert result.to_excel(tmp_path / "edge.xlsx").is_file()


def test_a_recipe_constant_past_1e150_is_refused(tmp_path):
    from titanic_reg.errors import RecipeError
    from titanic_reg.recipe import loads

    text = (Path(__file__).resolve().parents[1] / "titanic_reg" / "recipes" / "titanic.toml").read_text()
    for value in ("1e308", "-1e151", "inf", "nan"):
        with pytest.raises(RecipeError, match=r"line 88, key baselines\.everyone_dies\.constant: .* is past 1e150 "
                                              r"in size; its squared error would overflow"):
            loads(text.replace("constant = 0", f"constant = {value}"), "r.toml")
    assert loads(text.replace("constant = 0", "constant = 1e150"), "r.toml").baselines[0].constant == 1e150


def test_distinct_values_near_1e_300_are_not_called_the_same(tmp_path):
    """Their deviations square to 0 (underflow): the column is refused for that, not as constant."""
    import titanic_reg

    path = tmp_path / "tiny.csv"
    path.write_text("x,y\n" + "".join(f"{(i + 1) * 1e-300!r},{i * 2 + i % 3}\n" for i in range(60)))
    with pytest.raises(InputError) as caught:
        titanic_reg.fit(path, target="y", epochs=2, restarts=1, baselines=None)
    assert caught.value.column == "x"
    assert "differ by too little to standardise (standard deviation 1.73e-299: their squares underflow)" \
        in str(caught.value)
    same = tmp_path / "same.csv"
    same.write_text("x,y\n" + "".join(f"1e-300,{i}\n" for i in range(60)))
    with pytest.raises(InputError, match="constant: every training row holds '1E-300'"):  # truly the same
        titanic_reg.fit(same, target="y", epochs=2, restarts=1, baselines=None)
