"""What the command, the result and the workbook say in words (issue 21, a new student's
pass): help that matches what is required, numbers rounded for prose, no "-0.0000" or
"<NA>", and what a score is."""
from __future__ import annotations

import re
import zipfile

import pytest
from click.testing import CliRunner

import titanic_reg
from titanic_reg import cli, datasets
from titanic_reg.summary import prose_number, unsigned_zero

pytestmark = pytest.mark.filterwarnings("ignore::titanic_reg.errors.InputWarning")  # penguins without a sex

QUICK = {"epochs": 30, "restarts": 2, "descent_steps": 0, "baselines": None}


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


@pytest.fixture(scope="module")
def body_mass():
    return titanic_reg.fit(datasets.penguins().train_path, target="body_mass_g", **QUICK)


# --------------------------------------------------------------------------- help


def test_recipe_help_shows_no_default_for_the_target_it_requires():
    help_text = " ".join(run("recipe", "--help").stdout.split())
    assert "--target COLUMN The column to predict (required)" in help_text
    assert "default: Survived" not in help_text
    result = run("recipe", datasets.penguins().train_path)
    assert result.exit_code == 2 and "recipe needs --target COLUMN" in result.stderr
    # fit does fall back on the lesson's recipe for Titanic's columns, and says so
    assert "[default: Survived, with the lesson's recipe" in " ".join(run("fit", "--help").stdout.split())


# --------------------------------------------------------------------------- a target that is no classes


def _dates_csv(tmp_path, rows=60):
    path = tmp_path / "economics.csv"
    lines = ["date,unemploy,pop"] + [f"{1967 + (7 + i) // 12}-{(7 + i) % 12 + 1:02d}-01,{2900 + 37 * i},{198712 + 211 * i}"
                                     for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_date_target_is_refused_without_suggesting_a_date_as_the_positive_class(tmp_path):
    result = run("recipe", _dates_csv(tmp_path), "--target", "date")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "column date: the target has 60 distinct values (1967-08-01, " in line
    assert line.endswith("dates, not classes: choose another --target COLUMN")
    assert "--positive" not in line


def test_free_text_as_a_target_is_refused_too_but_classes_get_their_suggestion(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("name,x\n" + "".join(f"person {i},{i}\n" for i in range(50)))
    result = run("recipe", names, "--target", "name")
    assert result.exit_code == 1
    assert ("free text (more than max(42, rows/100) = 42 of them), not classes (a recipe's [target] kind = "
            "\"classes\" with its classes takes up to 50): choose another --target COLUMN") in result.stderr
    assert "--positive" not in result.stderr and "predicts a number" not in result.stderr
    result = run("recipe", datasets.penguins().train_path, "--target", "species")  # three classes: fitted as such
    assert result.exit_code == 0 and 'kind = "classes"' in result.stdout


# --------------------------------------------------------------------------- numbers in prose


def test_prose_numbers_have_six_significant_figures():
    assert prose_number(2654.32257628018) == "2654.32"
    assert prose_number(0) == "0" and prose_number(512.0) == "512" and prose_number(-0.000123456789) == "-0.000123457"
    assert prose_number(1e20 / 3) == "3.33333E+19"


def test_a_recipes_reasons_round_their_numbers(tmp_path):
    path = tmp_path / "fares.csv"
    fares = [0, 2654.32257628018, 13.123456789, 7.25, 8.05, 71.2833, 53.1, 8.4583, 51.8625, 21.075] * 5
    path.write_text("y,fare\n" + "".join(f"{i % 7},{f!r}\n" for i, f in enumerate(fares)))
    result = run("recipe", path, "--target", "y", "--valid-pct", "0")
    assert result.exit_code == 0, result.output
    (reason,) = [line for line in result.stdout.splitlines() if line.startswith('reason = "numbers (10 distinct')]
    assert "0 to 2654.32);" in reason and "2654.32257628018" not in reason


# --------------------------------------------------------------------------- the table


def test_the_html_table_shows_no_minus_zero_and_no_na(body_mass):
    mean = body_mass.baselines["mean"].scores
    mean.update(train_r2=-1e-12, n_params=None)  # a score that rounds to zero, a model without a count
    html = body_mass._repr_html_().split("<img")[0]  # the table and its caption, not the picture's base64
    row = re.search(r"<th>mean</th>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[4] == "0.0000" and cells[6] == "–", cells
    assert "-0.0000" not in html and "NA" not in html and "nan" not in html
    text = repr(body_mass)
    scores, costs = [line for line in text.splitlines() if line.lstrip().startswith("mean")]  # the two tables
    assert " 0.000 " in scores and "-0.000" not in scores, scores
    assert costs.split()[1] in ("–", "trees") and "NA" not in costs, costs  # no count of parameters, no <NA>


def test_unsigned_zero():
    assert [unsigned_zero(t) for t in ("-0.0000", "-0.000", "-0", "-0.0050", "0.0000", "-1E-05", "-0.000e+00")] == \
        ["0.0000", "0.000", "0", "-0.0050", "0.0000", "-1E-05", "0.000e+00"]


def test_a_binary_tables_caption_says_a_score_is_not_a_probability():
    result = titanic_reg.fit(datasets.penguins().train_path, target="sex", **QUICK)
    caption = " ".join(repr(result).split())
    assert "score > 0.5 predicts 1; scores are not probabilities and may leave 0 to 1" in caption
    assert "scores are not probabilities" in result._repr_html_()


# --------------------------------------------------------------------------- the workbook


@pytest.fixture(scope="module")
def sampled_book(body_mass, tmp_path_factory):
    """body_mass's workbook on a sample of 200 of its 342 rows, its two-ReLU run marked as
    screened (as train() marks a run of more than SCREEN_ROWS rows: 128 starts on a sample)."""
    import dataclasses

    import openpyxl

    run = body_mass.runs["two_relu"]
    screened = dataclasses.replace(run.trained, screen={"rows": 4096, "steps": 1000, "sample_mse": 0.1})
    body_mass.runs["two_relu"] = dataclasses.replace(run, trained=screened)
    path = body_mass.to_excel(tmp_path_factory.mktemp("book") / "penguins.xlsx", max_rows=200)
    return path, openpyxl.load_workbook(path)


def _texts(ws):
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_a_number_targets_model_output_says_it_is_scaled(sampled_book):
    _, book = sampled_book
    for sheet in ("Linear", "TwoReLU"):
        heads = [c.value for c in book[sheet][5]]
        assert heads[:2] == ["row", "body_mass_g"] and "Prediction" in heads, heads
        assert heads[heads.index("Prediction") - 1] in ("Linear (scaled)", "Preds (scaled)"), heads


def test_compare_says_linest_saw_only_the_sample_and_where_the_fit_times_are(body_mass, sampled_book):
    _, book = sampled_book
    texts = _texts(book["Compare"])
    assert not [t for t in texts if "three engines, one answer" in t]  # not on a sample: LINEST differs
    assert ("The linear model's optimum (training rows) (the target scaled by its sd, as the models learn it): "
            "torch and scikit-learn fit every training row, LINEST only this sample's 160, so LINEST differs") in texts
    assert "fit time" in texts and "fit ms" not in texts and "in metrics.json" not in texts
    assert texts.count("see metrics.json") == len(body_mass.metrics)  # a row per model and baseline


def _width(ws, column: int) -> float:
    """A column's width; openpyxl keys a range of columns (<col min="4" max="6">) by its first."""
    (width,) = [d.width for d in ws.column_dimensions.values() if d.min <= column <= d.max]
    return width


def test_every_compare_header_word_fits_its_column(sampled_book):
    # "LinearRegression" in a column 13 wide was broken by the engines as "LinearRegressi / on".
    from titanic_reg.sheets.layout import word_width

    _, book = sampled_book
    ws = book["Compare"]
    headers = [c for row in ws.iter_rows() for c in row
               if isinstance(c.value, str) and c.font.b and c.alignment.wrap_text]
    assert "scikit-learn LinearRegression" in [c.value for c in headers]
    for cell in headers:
        width = _width(ws, cell.column)
        assert width >= word_width(cell.value) >= 1.2 * max(map(len, cell.value.split())), (cell.value, width)
    titles = [c.value for c in ws["A"] if isinstance(c.value, str) and "HistGradient" in c.value]
    assert all(len(t) <= _width(ws, 1) for t in titles)


def test_about_wraps_long_values_in_rows_tall_enough(sampled_book):
    import textwrap

    from titanic_reg.sheets.layout import LINE_POINTS

    _, book = sampled_book
    ws = book["About"]
    width = _width(ws, 2)
    long = [c for c in ws["B"] if isinstance(c.value, str) and len(c.value) > width + 8]
    assert len(long) >= 2  # the target's reason and the screened run's settings, at least
    for cell in long:
        assert cell.alignment.wrap_text and cell.alignment.vertical == "top", cell.value
        lines = len(textwrap.wrap(cell.value, int(width)))
        assert ws.row_dimensions[cell.row].height >= LINE_POINTS * lines >= 2 * LINE_POINTS, cell.value
        assert ws.cell(cell.row, 1).alignment.vertical == "top"


def test_a_screened_runs_loss_curve_says_it_starts_after_the_screening(sampled_book):
    path, _ = sampled_book
    with zipfile.ZipFile(path) as zf:
        charts = "".join(zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart"))
    assert ("Two ReLUs (Adam), every row, after 1,000 steps of screening on 4,096 sampled rows (not shown)"
            in charts)
    assert "<c:v>Linear (conjugate gradient)</c:v>" in charts or ">Linear (conjugate gradient)<" in charts


def test_compare_keeps_three_engines_one_answer_when_the_workbook_holds_every_row(body_mass, tmp_path):
    import openpyxl

    book = openpyxl.load_workbook(body_mass.to_excel(tmp_path / "whole.xlsx"))
    texts = _texts(book["Compare"])
    assert ("The linear model's optimum, three engines, one answer (training rows) (the target scaled by its sd, "
            "as the models learn it)") in texts
    assert not [t for t in texts if "LINEST differs" in t]


def test_a_number_targets_scores_fit_their_column_at_any_size():
    """Squared units reach past T: the table's cells stay short, never cut to 6.05e…"""
    from titanic_reg.report import _num

    shown = {v: _num(v, "number") for v in (0.5, 123.456, 9999.7, 12345.0, 999.96e3, 7.3e13, 999.5e12, 6.05e15,
                                            -2.5e20)}
    assert shown == {0.5: "0.500", 123.456: "123.5", 9999.7: "10k", 12345.0: "12.3k", 999.96e3: "1M",
                     7.3e13: "73T", 999.5e12: "1.00e15", 6.05e15: "6.05e15", -2.5e20: "-2.50e20"}
    assert max(map(len, shown.values())) <= 8
