"""Recipes: the inference rules on small crafted tables, the recipe file (reading, writing,
errors that point at a line), and every transform's formula recalculated by LibreOffice
against its torch form, on training and test rows."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from titanic_reg import recipe as R
from titanic_reg.errors import InputError, RecipeError
from titanic_reg.infer import infer
from titanic_reg.table import read_table


def table(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_table(path)


def csv_of(columns: dict) -> str:
    names = list(columns)
    n = len(columns[names[0]])
    lines = [",".join(names)] + [",".join(str(columns[c][i]) for c in names) for i in range(n)]
    return "\n".join(lines) + "\n"


def decisions(recipe) -> dict:
    """column -> the transform's kind, or 'out: <reason>'."""
    out = {spec.column: spec for spec in recipe.inputs}
    out.update({c: f"out: {why}" for c, why in recipe.left_out.items()})
    return out


# --------------------------------------------------------------------------- inference rules


def test_each_rule_leaves_out_what_it_should_and_says_why(tmp_path):
    rnd = random.Random(0)
    n = 300
    cols = {
        "Unnamed: 0": list(range(n)),  # pandas' index, written without a header name
        "count": list(range(5, 5 + n)),  # a whole number that counts the rows
        "rownames": [f"r{i}" for i in range(n)],
        "const": ["same"] * n,
        "mostly_gone": [""] * (n - 2) + ["1", "2"],
        "free": [f"text {rnd.random():.6f}" for _ in range(n)],
        "day": [f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        "pclass": [rnd.choice([1, 2, 3]) for _ in range(n)],
        "six": [i % 6 for i in range(n)],
        "fare": [round(rnd.expovariate(0.05), 2) for _ in range(n)],
        "temp": [round(rnd.gauss(0, 5), 2) for _ in range(n)],
        "colour": [rnd.choice(["red", "green", "blue", "Red"]) for _ in range(n)],
        "y": [rnd.choice(["yes", "no"]) for _ in range(n)],
    }
    cols[""] = ["x"] * n  # a second empty header name: "Unnamed: 13"
    r = infer(table(tmp_path, csv_of(cols)), "y")
    d = decisions(r)
    assert r.id == "Unnamed: 0" and d["Unnamed: 0"].startswith("out: an ID: its name says so")
    assert d["count"] == "out: an ID: a whole number that counts the rows"
    assert d["rownames"].startswith("out: an ID: its name says so")
    assert d["const"] == "out: constant: every training row holds 'same'"
    assert d["mostly_gone"].startswith("out: missing in 99.") and "(99% or more)" in d["mostly_gone"]
    assert d["free"].startswith("out: free text: 300 distinct values in 300 training rows (more than max(42, "
                                "rows/100) = 42)")
    assert d["day"].kind == "date" and d["day"].format == "%Y-%m-%d" and d["day"].reason.startswith("dates, ")
    assert d["Unnamed: 13"] == "out: constant: every training row holds 'x'"
    assert d["pclass"].kind == "category" and "whole numbers with 3 distinct values" in d["pclass"].reason
    assert d["six"].kind == "number"  # six whole values: a number
    assert d["fare"].kind == "number" and d["fare"].log and d["fare"].scale == "standard"
    assert d["temp"].kind == "number" and not d["temp"].log  # negative values: no log
    assert d["colour"].kind == "category" and "4 distinct values" in d["colour"].reason  # Red is not red
    assert r.target.kind == "binary" and r.target.positive == "yes"
    assert [spec.column for spec in r.inputs] == ["day", "pclass", "six", "fare", "temp", "colour"]


def test_an_inferred_recipe_with_an_id_fits_again(tmp_path):
    """The ID is left out of the features and names the rows: the written recipe reads back."""
    import titanic_reg

    r = infer(read_table("data/train.csv"), "Survived")
    assert r.id == "PassengerId" and "PassengerId" in r.left_out
    path = tmp_path / "recipe.toml"
    path.write_text(R.dumps(r), encoding="utf-8")
    again = R.load(path)
    assert again.id == r.id and again.inputs == r.inputs and again.left_out == r.left_out
    fitted = titanic_reg.fit("data/train.csv", recipe=path, epochs=5, restarts=2, descent_steps=0, baselines=None)
    assert fitted.predictions.columns.tolist() == ["PassengerId", "prediction", "score"]


def test_an_id_must_be_unique_in_the_whole_file(tmp_path):
    """Distinct on the training rows is not enough: a repeat among the validation rows makes
    it no ID (and so no refusal of the whole fit over a column inference chose itself)."""
    ids = [f"k{i}" for i in range(60)]
    ids[59] = "k3"
    train = np.array([i for i in range(60) if i not in (3, 59)] + [3])
    r = infer(table(tmp_path, csv_of({"id": ids, "x": [i * 0.5 for i in range(60)], "y": [i % 2 for i in range(60)]})),
              "y", train_rows=np.sort(train))
    assert r.id is None and not decisions(r)["id"].startswith("out: an ID")


def test_one_number_and_missing_cells_is_a_category(tmp_path):
    r = infer(table(tmp_path, csv_of({"a": ["2.5", ""] * 30, "b": [i * 0.5 for i in range(60)],
                                      "y": [i % 3 == 0 for i in range(60)]})), "y")
    spec = decisions(r)["a"]
    assert spec.kind == "category" and "one number (2.5) and missing cells" in spec.reason


def test_a_number_target_with_a_stray_text_names_the_row(tmp_path):
    y = [f"{i * 1.5:.1f}" for i in range(60)]
    y[17] = "oops"
    with pytest.raises(InputError) as info:
        infer(table(tmp_path, csv_of({"x": [i % 7 for i in range(60)], "y": y})), "y")
    assert (info.value.row, info.value.column) == (19, "y") and "'oops' is not a number" in str(info.value)


def test_numbers_as_the_engines_write_them():
    from titanic_reg.transforms import number_text

    assert [number_text(v) for v in (1.0, -3.0, 0.5, 1e-05, 1e20, 2.5e16)] == ["1", "-3", "0.5", "1E-05", "1E+20",
                                                                               "2.5E+16"]


def test_a_name_used_twice_in_the_header_is_left_out(tmp_path):
    text = "a,b,a,y\n" + "".join(f"{i % 5},{i * 0.5},{i % 3},{i % 2}\n" for i in range(40))
    r = infer(table(tmp_path, text), "y")
    assert decisions(r)["a"] == "out: its name appears twice in the header"
    assert [spec.column for spec in r.inputs] == ["b"]


def test_missing_numbers_get_the_median_and_one_indicator_per_set_of_rows(tmp_path):
    n = 100
    a = [("" if i % 10 == 0 else i) for i in range(n)]
    b = [("" if i % 10 == 0 else i * 2 + 1) for i in range(n)]  # missing in a's rows exactly
    c = [("" if i % 7 == 0 else i * 3) for i in range(n)]
    y = [i % 2 for i in range(n)]
    r = infer(table(tmp_path, csv_of({"a": a, "b": b, "c": c, "y": y})), "y")
    d = decisions(r)
    assert d["a"].fill == "median" and d["a"].indicator and "10 training rows missing" in d["a"].reason
    assert not d["b"].indicator and "no b_na of its own: a_na is 1 in the same rows" in d["b"].reason
    assert d["c"].indicator
    assert r.target.kind == "binary" and r.target.positive == 1.0 and "the larger is positive" in r.target.reason


def test_only_the_training_rows_decide(tmp_path):
    """A column constant on the training rows is constant, whatever the validation rows hold."""
    n = 50
    valid = {3, 17, 30}
    x = ["v" if i in valid else "k" for i in range(n)]
    z = [i * 1.5 for i in range(n)]
    y = [i % 2 for i in range(n)]
    train = np.array([i for i in range(n) if i not in valid])
    r = infer(table(tmp_path, csv_of({"x": x, "z": z, "y": y})), "y", train_rows=train)
    assert decisions(r)["x"] == "out: constant: every training row holds 'k'"


def test_categories_keep_the_top_levels_and_missing_is_a_level(tmp_path):
    levels = [f"L{k}" for k in range(14)]
    values = [levels[min(i % 20, 13)] for i in range(400)] + [""] * 30
    y = [i % 3 == 0 for i in range(430)]
    t = table(tmp_path, csv_of({"c": values, "y": [int(v) for v in y]}))
    r = infer(t, "y")
    spec = decisions(r)["c"]
    assert spec.kind == "category" and spec.top == 10
    assert "15 distinct values" not in spec.reason and "14 distinct values" in spec.reason
    assert "30 missing, a level of its own" in spec.reason
    assert "the other 5 share c_other" in spec.reason  # 14 levels + missing = 15, 10 kept

    from titanic_reg.data import load
    from titanic_reg.features import fit_recipe

    rows = load(t, r, labelled=True)
    fitted = fit_recipe(r, rows)
    stats = fitted.stats["c"]
    assert stats["kept"][0] == "L13" and stats["baseline"] == "L13"  # 7 per 20 rows: the most frequent
    assert None in stats["kept"]  # missing (30 rows) is a kept level
    names = fitted.names
    assert "c_L13" not in names and "c_other" in names and "c_missing" in names
    X = fitted.matrix(rows).numpy()
    row_sums = X[:, [i for i, f in enumerate(fitted.features) if f.column == "c"]].sum(axis=1)
    assert set(row_sums) == {0.0, 1.0}  # one level each; the baseline has no column


@pytest.mark.parametrize("values,positive,expected", [
    (["yes", "no"], None, "yes"),
    (["True", "False"], None, "True"),
    ([">50K", "<=50K", "<=50K"], None, ">50K"),  # neither word: the rarer
    ([0, 1], None, 1.0),
    ([1, 2], None, 2.0),
    (["a", "b", "c"], "b", "b"),
    ([3, 4, 5], "4", 4.0),  # a number target made one class against the rest
])
def test_the_positive_class(tmp_path, values, positive, expected):
    y = [values[i % len(values)] for i in range(60)]
    r = infer(table(tmp_path, csv_of({"x": [i * 0.5 for i in range(60)], "y": y})), "y", positive=positive)
    assert r.target.kind == "binary" and r.target.positive == expected


@pytest.mark.parametrize("y,words", [
    (["a"] * 60, "the target has one value ('a') in every row that has one"),
    ([""] * 60, "the target is missing in every row"),
])
def test_targets_that_cannot_be_learned_are_refused(tmp_path, y, words):
    with pytest.raises(InputError) as info:
        infer(table(tmp_path, csv_of({"x": [i * 0.5 for i in range(60)], "y": y})), "y")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_numeric_target_with_many_values_is_a_number(tmp_path):
    r = infer(table(tmp_path, csv_of({"x": [i % 7 * 0.5 for i in range(40)], "y": [i * 1.5 for i in range(40)]})), "y")
    assert r.target.kind == "number" and r.baselines[0].constant == "mean"


def test_the_target_must_be_in_the_header(tmp_path):
    with pytest.raises(InputError) as info:
        infer(table(tmp_path, "a,b\n1,2\n"), "c")
    assert "the target column 'c' is not in the header; the header has a, b" in str(info.value)


def test_nothing_left_to_learn_from_says_why_each_column_went(tmp_path):
    with pytest.raises(InputError) as info:
        infer(table(tmp_path, csv_of({"id": list(range(9)), "k": ["z"] * 9, "y": [0, 1] * 4 + [0]})), "y")
    message = str(info.value)
    assert "no usable input column" in message and "id: an ID" in message and "k: constant" in message


# --------------------------------------------------------------------------- the recipe file


def test_the_lessons_recipe_round_trips_and_reads_as_a_file():
    recipe = R.titanic()
    again = R.loads(R.dumps(recipe))
    again.source = recipe.source
    assert again == recipe


def test_any_column_name_round_trips(tmp_path):
    from titanic_reg.recipe import Recipe
    from titanic_reg.target import Target
    from titanic_reg.transforms import Category, Number

    odd = ['a b', 'quote"d', "back\\slash", "tab\there", "Ünï", "2nd", "=x", "dot.ted", "", "new\nline"]
    recipe = Recipe(Target("y = 1?", "binary", "yes \"sir\""),
                    [Number(c) if i % 2 else Category(c, levels=["p", 'q"'], other=True) for i, c in enumerate(odd)],
                    left_out={"a\u0007b": "bell"})
    again = R.loads(R.dumps(recipe, "header\nmore"))
    assert again.inputs == recipe.inputs and again.target == recipe.target and again.left_out == recipe.left_out


@pytest.mark.parametrize("text,where,words", [
    ('name = "x"\n[target\n', "line 2", "not valid TOML"),
    ('[target]\ncolumn = "y"\nkind = "binary"\npositive = 1\n[inputs.a]\nkind = "number"\nscale = "zscore"\n',
     "line 7, key inputs.a.scale", "'zscore' is not one of none, max, standard"),
    ('[target]\ncolumn = "y"\nkind = "binary"\npositive = 1\n\n[inputs."a b"]\nkind = "onehot"\n',
     'line 7, key inputs."a b".kind', "kind 'onehot' is not a transform: use number or category"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[inputs.a]\nkind = "category"\ntop = 0\n',
     "line 6, key inputs.a.top", "top 0 keeps no level"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[inputs.a]\nkind = "category"\nlevelz = [1]\n',
     "line 6, key inputs.a.levelz", "unknown key 'levelz'"),
    ('colour = "blue"\n[target]\ncolumn = "y"\n', "line 1, key colour", "unknown key 'colour'"),
    ('[inputs.a]\nkind = "number"\n', "key target", "no [target] table"),
    ('[target]\ncolumn = "y"\nkind = "binary"\n', "line 1, key target.positive", "needs positive"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[inputs.y]\nkind = "number"\n',
     "line 4, key inputs.y", "column y is used twice"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[baselines.r]\nconstant = "median"\n',
     "line 5, key baselines.r.constant", "is not a number, \"majority\" or \"mean\""),
    ('[target]\ncolumn = "y"\nkind = "number"\n[baselines.r]\nconstant = "majority"\n',
     "line 5, key baselines.r.constant", "\"majority\" needs a binary or classes target"),
    ('[target]\ncolumn = "y"\nkind = "classes"\nclasses = ["a", "b", "c"]\nlog = true\n',
     "line 5, key target.log", "log = true is for a number target (its log is learned); a classes one has none"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[inputs.a]\nkind = "category"\nlevels = []\n',
     "line 6, key inputs.a.levels", "is an empty list"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[inputs.a]\nkind = "category"\nvalues = []\n',
     "line 6, key inputs.a.values", "is an empty list"),
    ('[target]\ncolumn = "y"\nkind = "number"\n[inputs.a]\nkind = "category"\nlevels = [1]\nfeatures = [" "]\n',
     "line 7, key inputs.a.features", "a feature needs a name"),
])
def test_a_bad_recipe_names_the_file_the_line_and_the_key(tmp_path, text, where, words):
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        R.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}, {where}: "), message
    assert words in message and "\n" not in message


def test_missing_values_may_be_none_but_the_empty_field(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('missing_values = []\n[target]\ncolumn = "y"\nkind = "number"\n', encoding="utf-8")
    assert R.load(path).missing_values == ("",)


def test_a_rule_on_a_feature_no_input_makes_points_at_its_line(tmp_path):
    import titanic_reg

    path = tmp_path / "r.toml"
    path.write_text(R.dumps(R.titanic()).replace('feature = "Male"', 'feature = "Female"'), encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        titanic_reg.fit("data/train.csv", recipe=path, epochs=2, restarts=1)
    assert str(info.value).startswith(f"{path}, line ") and "key baselines.women_survive.feature" in str(info.value)
    assert "no feature is called 'Female'" in str(info.value)


def test_a_recipe_file_that_is_not_text(tmp_path):
    (tmp_path / "r.toml").write_bytes(b"\xff\xfe\x00x")
    with pytest.raises(RecipeError, match="not a UTF-8 text file"):
        R.load(tmp_path / "r.toml")


# --------------------------------------------------------------------------- every transform, recalculated

RECIPE = """
name = "transforms"
missing = "fill"

[target]
column = "y"
kind = "binary"
positive = "yes"

[inputs.num]
kind = "number"
fill = "median"
indicator = true
scale = "standard"

[inputs.skew]
kind = "number"
fill = "median"
indicator = true
log = true
scale = "standard"

[inputs.ratio]
kind = "number"
fill = "mean"
scale = "max"

[inputs.logmax]
kind = "number"
fill = "mode"
log = true
scale = "max"

[inputs.plain]
kind = "number"
fill = "mode"

[inputs."colour name"]
kind = "category"
top = 4

[inputs.code]
kind = "category"
top = 3

[inputs.sex]
kind = "category"
levels = ["male"]
features = ["Male"]
fill = "mode"
case = "lower"

[inputs.klass]
kind = "category"
levels = [1, 2]
fill = "mode"

[inputs.port]
kind = "category"
levels = ["S", "C"]
other = true

[inputs."2nd (é) x-y"]
kind = "number"
fill = "median"
scale = "max"
"""


def _transform_rows(rnd, n, test=False):
    colours = ["red", "Red", "green", "blue", "teal", "plum", "sand"] + (["ochre"] if test else [])
    rows = []
    for i in range(n):
        gap = lambda p: rnd.random() < p  # noqa: E731
        rows.append({
            "num": "" if gap(0.1) else f"{rnd.gauss(10, 3):.4f}",
            "skew": "" if (gap(0.1) and not test) else f"{rnd.expovariate(0.1):.3f}",
            "ratio": "" if gap(0.1) else f"{rnd.uniform(-2, 50):.3f}",
            "logmax": "" if gap(0.05) else f"{rnd.choice([0, 3, 3, 7.5, 12])}",
            "plain": "" if (test and gap(0.2)) else f"{rnd.randint(0, 4)}",
            "colour name": "" if gap(0.08) else rnd.choice(colours),
            "code": "" if gap(0.1) else rnd.choice(["0", "1", "1.0", "2", "5", "7"]),
            "sex": "" if gap(0.05) else rnd.choice(["male", "female", "MALE"]),
            "klass": "" if gap(0.05) else rnd.choice(["1", "2", "3"]),
            "port": "" if gap(0.05) else rnd.choice(["S", "C", "Q", "X" if test else "S"]),
            "2nd (é) x-y": "" if gap(0.1) else f"{rnd.uniform(1, 9):.2f}",
            "y": rnd.choice(["yes", "no"]),
        })
    return rows


def _write_rows(path, rows):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


@pytest.mark.libreoffice
def test_every_transform_formula_equals_its_torch_form_in_libreoffice(tmp_path, soffice):
    """One workbook holds every transform and option; LibreOffice recalculates each feature
    of every training and test row, and each statistic, to torch's numbers."""
    import warnings

    import titanic_reg
    from titanic_reg.sheets.layout import FIRST_ROW
    from titanic_reg.sheets.verify import verify
    from titanic_reg.sheets.workbook import write_workbook

    rnd = random.Random(7)
    _write_rows(tmp_path / "train.csv", _transform_rows(rnd, 240))
    _write_rows(tmp_path / "test.csv", _transform_rows(rnd, 60, test=True))
    (tmp_path / "recipe.toml").write_text(RECIPE, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = titanic_reg.fit(tmp_path / "train.csv", recipe=tmp_path / "recipe.toml", valid_pct=0.25, epochs=20,
                                 restarts=2, descent_steps=3, baselines=None)
    said = " ".join(str(w.message) for w in caught)
    assert "column colour name" in said and "'ochre'" in said and "goes to colour name_other" in said
    assert "column plain" in said and "where no training row was; filled with the training mode" in said
    assert "column port" in said and "'X'" in said

    stats = result.fitted.stats
    assert stats["colour name"]["other"] and stats["code"]["numeric"] and not stats["colour name"]["numeric"]
    assert "Red" in stats["colour name"]["levels"] and "red" in stats["colour name"]["levels"]  # exact text
    assert stats["code"]["levels"].count("1") == 1  # 1 and 1.0 are one level
    assert "Male" in result.features and "klass_1" in result.features and "port_other" in result.features
    assert "2nd (é) x-y" in result.features  # a name no formula could hold: its statistic is max_2nd____x_y

    path = write_workbook(result, tmp_path / "transforms.xlsx")
    report = verify(path)
    assert report.ok and not report.errors, report.summary()
    for sheet, X, n in (("Data", result.X, len(result.data)), ("Test", result.X_test, len(result.test))):
        header, k = report_header(path, sheet), len(result.features)
        first = next(c for c in range(len(header)) if tuple(str(h).removesuffix(" (feature)") for h in header[c:c + k]) == result.features)
        for i in range(n):
            for j, name in enumerate(result.features):
                got = report.recalculated[sheet][(FIRST_ROW + i, first + j)]
                assert got == pytest.approx(float(X[i, j]), abs=1e-12), (sheet, FIRST_ROW + i + 1, name)


def report_header(path, sheet):
    import openpyxl

    return [c.value for c in openpyxl.load_workbook(path, read_only=True)[sheet][5]]


def test_a_number_target_learns_from_0_in_sds_and_scores_in_its_units(tmp_path):
    import titanic_reg

    rnd = random.Random(3)
    rows = ["x,g,y"] + [f"{x:.3f},{rnd.choice('ab')},{1000 + 250 * x + rnd.gauss(0, 40):.2f}"
                        for x in (rnd.uniform(0, 4) for _ in range(200))]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    r = titanic_reg.fit(tmp_path / "d.csv", target="y", epochs=200, restarts=4, descent_steps=0, baselines=None)
    y = r.output(r.y).numpy()
    assert r.y[:r.n_train].min() == 0 and r.y[:r.n_train].std(correction=0) == pytest.approx(1)
    m = r.metrics["linear"]
    assert m["train_r2"] > 0.95 and m["train_rmse"] == pytest.approx(math.sqrt(m["train_mse"]))
    assert 20 < m["train_rmse"] < 60  # the noise is 40 units
    assert y == pytest.approx(r.data.target, abs=1e-9)  # mean + sd * y gives the column back
    assert r.metrics["mean"]["train_r2"] == pytest.approx(0, abs=1e-12)


@pytest.mark.libreoffice
def test_more_kept_levels_than_the_sheet_lists_by_default_still_verify(tmp_path, soffice):
    """The Recipe sheet lists 100 levels, or as many as the recipe keeps: each kept level is
    looked up by rank among those listed."""
    import titanic_reg
    from titanic_reg.sheets.verify import verify
    from titanic_reg.sheets.workbook import write_workbook

    rnd = random.Random(5)
    rows = ["c,x,y"] + [f"L{rnd.randint(0, 149):03d},{rnd.random():.3f},{rnd.randint(0, 1)}" for _ in range(900)]
    (tmp_path / "many.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "r.toml").write_text('[target]\ncolumn = "y"\nkind = "binary"\npositive = 1\n'
                                     '[inputs.c]\nkind = "category"\ntop = 120\n[inputs.x]\nkind = "number"\n',
                                     encoding="utf-8")
    result = titanic_reg.fit(tmp_path / "many.csv", recipe=tmp_path / "r.toml", epochs=5, restarts=2,
                             descent_steps=0, baselines=None)
    assert len(result.fitted.stats["c"]["kept"]) == 120
    report = verify(write_workbook(result, tmp_path / "many.xlsx"))
    assert report.ok and not report.errors, report.summary()


@pytest.mark.libreoffice
def test_features_that_are_a_mix_of_others_get_the_smallest_weights_and_a_warning(tmp_path, soffice):
    """Two columns that are one column twice: least squares has no single answer. The linear
    model ends at scikit-learn's (the smallest weights), so their validation scores agree
    too; a warning names the features; the workbook leaves LINEST out and verifies."""
    import warnings

    import titanic_reg
    from titanic_reg.sheets.verify import verify
    from titanic_reg.sheets.workbook import write_workbook

    rnd = random.Random(2)
    rows = ["a,b,c,y"]
    for _ in range(300):
        a, c = rnd.gauss(0, 1), rnd.gauss(0, 1)
        rows.append(f"{a:.4f},{a:.4f},{c:.4f},{int(a + 0.5 * c + rnd.gauss(0, 0.5) > 0)}")
    (tmp_path / "twice.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = titanic_reg.fit(tmp_path / "twice.csv", target="y", epochs=20, restarts=2, descent_steps=3)
    said = [str(w.message) for w in caught if "a mix of others" in str(w.message)]
    assert len(said) == 1 and "(a, b)" in said[0] and r.collinear == ["a", "b"]
    ours, theirs = r.runs["linear"].params.numpy(), np.array(r.baselines["sklearn_linear"].coefficients)
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ours[0] == pytest.approx(ours[1], abs=1e-9)  # the weight split evenly, as the smallest norm does
    assert r.metrics["linear"]["valid_mse"] == pytest.approx(r.metrics["sklearn_linear"]["valid_mse"], abs=1e-12)
    path = write_workbook(r, tmp_path / "twice.xlsx")
    report = verify(path)
    assert report.ok and not report.errors, report.summary()


# --------------------------------------------------------------------------- caps before work starts (issue 21)


def test_a_category_keeps_at_most_max_levels(tmp_path):
    from titanic_reg.limits import MAX_LEVELS

    head = '[target]\ncolumn = "y"\n\n[inputs.c]\nkind = "category"\n'
    R.loads(head + f"top = {MAX_LEVELS}\n")
    with pytest.raises(RecipeError, match=r"line 6, key inputs\.c\.top: top 1,001 would keep more levels of c "
                                          r"than the 1,000 a category may"):
        R.loads(head + f"top = {MAX_LEVELS + 1}\n")
    levels = ", ".join(str(k) for k in range(MAX_LEVELS + 1))
    with pytest.raises(RecipeError, match=r"key inputs\.c\.levels: 1,001 levels of c, more than the 1,000"):
        R.loads(head + f"levels = [{levels}]\n")


def test_too_many_features_are_refused_naming_the_column_before_the_matrix(monkeypatch):
    import titanic_reg
    from titanic_reg import features

    monkeypatch.setattr(features, "MAX_FEATURES", 5)
    # SibSp, Parch, Age_N, log_Fare, then Pclass's two
    with pytest.raises(RecipeError, match=r"key inputs\.Pclass: 6 features with Pclass's \(column Pclass makes 2\), "
                                          r"past the 5 a fit takes"):
        titanic_reg.fit("data/train.csv", epochs=1, baselines=None)


def test_a_feature_matrix_past_its_cap_is_refused_before_it_is_built(monkeypatch):
    import titanic_reg
    from titanic_reg import features, pipeline

    built = []
    monkeypatch.setattr(pipeline, "MAX_MATRIX_NUMBERS", 712 * 10 - 1)
    monkeypatch.setattr(features.FittedRecipe, "matrix", lambda self, rows: built.append(rows))
    with pytest.raises(InputError, match=r"712 rows x 10 features are 7,120 numbers, past the 7,119"):
        titanic_reg.fit("data/train.csv", test_path=None, missing="drop", epochs=1, baselines=None)
    assert built == []


def test_a_rule_baseline_may_not_take_a_models_name():
    import titanic_reg
    from titanic_reg.recipe import titanic

    recipe = titanic()
    recipe.baselines[0].name = "relus:3"
    with pytest.raises(RecipeError, match=r"key baselines\.\"?relus:3\"?: the rule baseline relus:3 has the name of the "
                                          r"model relus:3 \(models\)"):
        titanic_reg.fit("data/train.csv", recipe=recipe, models="linear,relus:3", epochs=1, baselines=None)
    # Without that model in the run, the name is free.
    out = titanic_reg.fit("data/train.csv", recipe=recipe, models="linear", epochs=1, baselines=None)
    assert "relus:3" in out.baselines


def test_to_excel_refuses_more_cells_than_a_workbook_may_hold(default_fit, tmp_path, monkeypatch):
    from titanic_reg import sample
    from titanic_reg.errors import OptionError

    monkeypatch.setattr(sample, "MAX_SHEET_CELLS", 10_000)
    with pytest.raises(OptionError, match=r"max_rows: 1,000 rows would put 1,130 rows x 21 columns = 23,730 cells"):
        default_fit.to_excel(tmp_path / "t.xlsx", max_rows=1_000)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- recipe files that tomllib or a file system balk at
def _lesson_text() -> str:
    from pathlib import Path

    return (Path(R.__file__).parent / "recipes" / "titanic.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a = " * 3000 + "1" + "}" * 3000])
def test_a_recipe_nested_thousands_deep_is_refused_in_one_line(tmp_path, value):
    path = tmp_path / "deep.toml"
    path.write_text(f"x = {value}\n", encoding="utf-8")
    with pytest.raises(RecipeError) as caught:
        R.load(path)
    assert str(caught.value) == f"{path}: not valid TOML for a recipe (arrays or tables nested too deeply)"


def test_a_recipe_with_a_byte_order_mark_reads_as_without(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(_lesson_text().encode("utf-8-sig"))
    read, lesson = R.load(path), R.titanic()
    assert R.dumps(read) == R.dumps(lesson)


def test_a_workbook_name_too_long_for_a_file_is_refused_when_the_recipe_is_read(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(_lesson_text().replace('name = "titanic"', f'name = "{"n" * 201}"'), encoding="utf-8")
    with pytest.raises(RecipeError, match=r"long\.toml, line 9, key name: 201 characters is too long for the "
                                          r"workbook's file name: at most 200$"):
        R.load(path)


def test_the_longest_name_a_recipe_takes_still_writes_its_workbook(tmp_path):
    """200 characters and .xlsx, with the temporary name's extras, stay within a file name's 255 bytes."""
    import titanic_reg
    from titanic_reg.limits import MAX_NAME

    path = tmp_path / "long.toml"
    path.write_text(_lesson_text().replace('name = "titanic"', f'name = "{"n" * MAX_NAME}"'), encoding="utf-8")
    result = titanic_reg.fit("data/train.csv", None, recipe=path, epochs=2, restarts=1, descent_steps=1,
                             models="linear", baselines=None)
    written = result.save(tmp_path / "out")
    assert tmp_path / "out" / f"{'n' * MAX_NAME}.xlsx" in written


def test_a_data_file_with_a_long_name_gives_a_workbook_name_a_file_system_takes(tmp_path):
    from titanic_reg.limits import MAX_NAME
    from titanic_reg.report import data_name

    assert data_name(tmp_path / f"{'p' * 250}.csv") == "p" * MAX_NAME
    assert data_name(tmp_path / f"{'p' * 199}...csv") == "p" * 199  # cut, then the dots stripped
