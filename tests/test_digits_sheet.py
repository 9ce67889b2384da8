"""The workbook draws the digits (issue 19): the Digits and Weights sheets of a table with an image."""
from __future__ import annotations

import re
import warnings

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter

import titanic_reg
from titanic_reg import datasets
from titanic_reg.errors import InputWarning
from titanic_reg.sheets.workbook import sheet_names

ROWS = 60  # a small workbook for the quick tests: 48 training rows, 12 validation
SIDE, N_PX = 28, 784


@pytest.fixture(scope="module")
def digits_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return titanic_reg.fit(datasets.mnist37().train_path, target="digit", baselines=None, descent_steps=0)


@pytest.fixture(scope="module")
def books(digits_fit, tmp_path_factory):
    """The workbook's formulas and its cached values."""
    path = digits_fit.to_excel(tmp_path_factory.mktemp("digits") / "mnist37.xlsx", max_rows=ROWS)
    return openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)


def _data(books):
    """The Data sheet as a frame (headers on row 5), and the sheet row of each of its rows."""
    values = books[1]["Data"]
    rows = list(values.iter_rows(min_row=5, values_only=True))
    frame = pd.DataFrame(rows[1:], columns=rows[0]).dropna(how="all")
    return frame, list(range(6, 6 + len(frame)))


def _labels(ws, pattern):
    """(row, column, match) of each cell whose text matches `pattern`."""
    found = []
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and (m := re.fullmatch(pattern, cell.value)):
                found.append((cell.row, cell.column, m))
    return found


def _block(ws, top, left):
    """The 28 x 28 cells from (top, left), 1-based, row-major."""
    return [ws.cell(top + k // SIDE, left + k % SIDE) for k in range(N_PX)]


def _image_top(books, label_row, digits_fit):
    """An image's first row: under its label, one row per model, L1, L2 and the verdicts."""
    return label_row + 1 + len(digits_fit.runs) + 3


def test_only_a_table_with_an_image_gets_the_sheets(digits_fit, default_fit):
    assert {"Digits", "Weights"} <= set(sheet_names(digits_fit))
    names = sheet_names(default_fit)
    assert "Digits" not in names and "Weights" not in names


def test_the_images_are_formulas_over_the_data_sheets_raw_pixels(books, digits_fit):
    formulas, values = books[0]["Digits"], books[1]["Digits"]
    data, sheet_rows = _data(books)
    csv = pd.read_csv(datasets.mnist37().train_path)
    header = list(data.columns)
    shown = _labels(values, r"row (\d+) \((training|validation)\), digit")
    assert len(shown) == 12
    digits = [values.cell(r, c + 19).value for r, c, _ in shown]
    assert digits == [3] * 6 + [7] * 6  # the first six of each class
    for r, c, m in shown:
        key = int(m[1])
        at = data.index[data["row"] == key][0]
        assert (m[2] == "validation") == (data["Split"][at] == "valid")
        top = _image_top(books, r, digits_fit)
        cells, cached = _block(formulas, top, c), _block(values, top, c)
        for k in (0, 100, 200, 300, 400, 500, 783):  # p0 .. p783, row-major in the block
            ref = re.fullmatch(r"=Data!\$([A-Z]+)\$?(\d+)", cells[k].value)
            assert ref, cells[k].value
            assert header[column_index_from_string(ref[1]) - 1] == f"p{k}"
            assert int(ref[2]) == sheet_rows[at]
        # the cached values are the CSV's pixels of that row (the row number counts the header)
        assert [x.value for x in cached] == csv.iloc[key - 2, :N_PX].astype(float).tolist()
    # validation rows first: only when the workbook's few validation rows run out come training rows
    splits = [m[2] for _, _, m in shown]
    assert splits[0] == "validation"


def test_the_mean_images_are_numpys_means_of_the_training_rows_held(books, digits_fit):
    formulas, values = books[0]["Digits"], books[1]["Digits"]
    data, sheet_rows = _data(books)
    train = data[data["Split"] == "train"]
    y = (train["digit"] == 7).to_numpy()
    pixels = train[[f"p{k}" for k in range(N_PX)]].to_numpy(dtype=float)
    means = _labels(values, r"mean (\d): (\d+) training rows")
    assert [m[1] for _, _, m in means] == ["3", "7"]
    for (r, c, m), rows in zip(means, (~y, y)):
        assert int(m[2]) == rows.sum()
        block = _block(values, r + 1, c)
        assert np.allclose([x.value for x in block], pixels[rows].mean(axis=0), rtol=0, atol=1e-12)
        first, last = sheet_rows[0], sheet_rows[len(train) - 1]
        text = _block(formulas, r + 1, c)[300].value
        assert re.fullmatch(rf"=AVERAGEIFS\(Data!\$[A-Z]+\${first}:\$[A-Z]+\${last},"
                            rf"Data!\$[A-Z]+\${first}:\$[A-Z]+\${last},{int(m[1] == '7')}\)", text), text


def test_each_images_distances_and_verdicts_are_the_chapters(books, digits_fit):
    formulas, values = books[0]["Digits"], books[1]["Digits"]
    means = [np.array([x.value for x in _block(values, r + 1, c)]) for r, c, _ in
             _labels(values, r"mean (\d): (\d+) training rows")]
    for r, c, _ in _labels(values, r"row (\d+) \((training|validation)\), digit"):
        image = np.array([x.value for x in _block(values, _image_top(books, r, digits_fit), c)])
        at = r + 1 + len(digits_fit.runs)
        l1 = [np.abs(image - m).mean() / 255 for m in means]
        l2 = [np.sqrt(((image - m) ** 2).mean()) / 255 for m in means]
        assert [values.cell(at, c + 11).value, values.cell(at, c + 19).value] == pytest.approx(l1, abs=1e-12)
        assert [values.cell(at + 1, c + 11).value, values.cell(at + 1, c + 19).value] == pytest.approx(l2, abs=1e-12)
        says = [values.cell(at + 2, c + 11).value, values.cell(at + 2, c + 19).value]
        assert says == ["7" if d[1] < d[0] else "3" for d in (l1, l2)]
        assert formulas.cell(at, c + 11).value.text.startswith("=SUMPRODUCT(ABS(")  # an array formula
    # each model's score is its own sheet's prediction of that row, and its class follows
    data, sheet_rows = _data(books)
    for r, c, m in _labels(values, r"row (\d+) \((training|validation)\), digit"):
        row = sheet_rows[data.index[data["row"] == int(m[1])][0]]
        for run in digits_fit.runs.values():
            at = next(k for k in range(r, r + 4) if values.cell(k, c).value == f"{run.name} says")
            ref = re.fullmatch(rf"={run.model.sheet}!\$([A-Z]+)\$?(\d+)", formulas.cell(at, c + 11).value)
            assert ref and int(ref[2]) == row
            score = values.cell(at, c + 11).value
            # (XlsxWriter writes a plain number to 16 digits, a formula's cached value to 17)
            assert score == pytest.approx(books[1][run.model.sheet][f"{ref[1]}{row}"].value, rel=1e-15)
            assert values.cell(at, c + 19).value == ("7" if score > 0.5 else "3")


def test_the_weights_are_the_models_own_by_formula_over_params(books, digits_fit):
    formulas, values = books[0]["Weights"], books[1]["Weights"]
    params = books[1]["Params"]
    p = len(digits_fit.features)
    at = [digits_fit.features.index(f"p{k}") for k in range(N_PX)]
    found = _labels(values, r"(\w+): (\w+)")
    assert [m[1] for _, _, m in found] == ["logistic", "linear"]
    for r, c, m in found:
        run = digits_fit.runs[m[1]]
        name = run.model.tensors(p)[0].name
        assert m[2] == name
        weights = run.model.unpack(run.params, p)[name].numpy()[0]
        cached = [x.value for x in _block(values, r + 1, c)]
        assert cached == weights[at].tolist()
        assert [x.value for x in _block(formulas, r + 1, c)][:3] == [f"=INDEX({name},1,{k + 1})" for k in at[:3]]
        # the defined name is the Params sheet's row of this model's weights
        sheet, where = books[0].defined_names[name].attr_text.split("!")
        first = where.split(":")[0].replace("$", "")
        row, col = int(re.sub(r"[A-Z]", "", first)), column_index_from_string(re.sub(r"\d", "", first))
        assert [params.cell(row, col + k).value for k in at[:5]] == weights[at[:5]].tolist()


def test_the_blocks_are_coloured_by_scales(books, digits_fit):
    digits, weights = books[0]["Digits"], books[0]["Weights"]
    scales = [(str(rng.sqref), rule) for rng in digits.conditional_formatting for rule in rng.rules]
    assert len(scales) == 14  # two mean images and twelve images
    for sqref, rule in scales:
        a, b = sqref.split(":")
        assert column_index_from_string(re.sub(r"\d", "", b)) - column_index_from_string(re.sub(r"\d", "", a)) == 27
        assert rule.type == "colorScale"
        ends = [(v.type, float(v.val)) for v in rule.colorScale.cfvo]
        assert ends == [("num", 0.0), ("num", 255.0)]
        assert [c.rgb[-6:] for c in rule.colorScale.color] == ["FFFFFF", "000000"]
    rules = [rule for rng in weights.conditional_formatting for rule in rng.rules]
    assert len(rules) == 2
    for rule in rules:
        low, mid, high = [float(v.val) for v in rule.colorScale.cfvo]
        assert mid == 0 and low == -high and high > 0


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", ["libreoffice", "gnumeric"])
def test_the_shipped_samples_workbook_verifies(digits_fit, tmp_path_factory, engine):
    from tests.conftest import engine_or_fail
    from titanic_reg.sheets.verify import verify

    engine_or_fail(engine)
    folder = tmp_path_factory.getbasetemp() / "digits-default"
    path = folder / "mnist37.xlsx"
    if not path.exists():
        folder.mkdir(exist_ok=True)
        digits_fit.to_excel(path)  # the default sample
    assert path.stat().st_size < 10_000_000
    report = verify(path, engine=engine, timeout=600)
    assert report.ok, report
    assert report.cells_checked > 200 * N_PX


def test_the_sheets_call_only_functions_every_engine_has(books):
    from titanic_reg.sheets.functions import ALLOWED, functions_used

    used = set()
    for name in ("Digits", "Weights"):
        for row in books[0][name].iter_rows():
            for cell in row:
                text = getattr(cell.value, "text", cell.value)
                if isinstance(text, str) and text.startswith("="):
                    used |= functions_used(text)
    assert {"AVERAGEIFS", "ABS", "SUMPRODUCT", "SQRT", "INDEX", "IF"} <= used <= ALLOWED


def test_the_rows_shown_are_validation_rows_first_then_training_rows():
    from titanic_reg.pixels import shown_rows

    y = np.array([0, 1, 0, 1, 1, 0, 0], dtype=float)  # rows 0-3 train, 4-6 validation
    assert shown_rows(y, 4, per_class=2) == [[5, 6], [4, 1]]
    assert shown_rows(y, 4, per_class=3) == [[5, 6, 0], [4, 1, 3]]
    assert shown_rows(y, 4, per_class=2, binary=False) == [[4, 5], [6, 0]]


def test_the_weights_colours_end_at_the_95th_percentile_of_their_sizes():
    from titanic_reg.pixels import colour_limit

    weights = np.r_[np.linspace(-1, 1, 101), 50.0, -80.0]  # two outliers do not wash the rest out
    assert colour_limit(weights) == pytest.approx(np.quantile(np.abs(weights), 0.95))
    assert colour_limit(weights) < 1.0
    assert colour_limit(np.zeros(5)) == 1.0  # all zero: a scale that still has two ends
