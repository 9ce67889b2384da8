"""The workbook for a target of K classes (issue 20): y one-hot, each model's softmax per row,
-LN of the true class's probability, the predicted class, a confusion matrix by COUNTIFS, and
the Descent sheets' p - onehot; recalculated in LibreOffice and Gnumeric."""
from __future__ import annotations

import math
import warnings

import numpy as np
import openpyxl
import pytest
import torch
import xlsxwriter
from openpyxl.utils import get_column_letter

import titanic_reg
from titanic_reg.errors import InputWarning
from titanic_reg.outputs import SOFTMAX
from titanic_reg.sheets.functions import ALLOWED, functions_used
from titanic_reg.sheets.recalc import recalculated
from titanic_reg.sheets.verify import verify
from tests.helpers import ROOT

PENGUINS = ROOT / "data" / "penguins.csv"
ROWS = 60  # a small workbook: 48 training rows, 12 validation
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
ENGINES = ["libreoffice", "gnumeric"]


@pytest.fixture(scope="module")
def species():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return titanic_reg.fit(PENGUINS, target="species", baselines=None, descent_steps=5)


@pytest.fixture(scope="module")
def book(species, tmp_path_factory):
    path = species.to_excel(tmp_path_factory.mktemp("species") / "penguins.xlsx", max_rows=ROWS)
    return path, openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)


def _text(cell) -> str | None:
    """A cell's text: a formula's with its "=", an array formula's without (as its array holds it)."""
    if hasattr(cell.value, "text"):
        return cell.value.text.removeprefix("=")
    return cell.value if isinstance(cell.value, str) else None


def _find(ws, start: str):
    """The (row, column), 1-based, of the first cell whose text starts with `start`."""
    for row in ws.iter_rows():
        for cell in row:
            if (_text(cell) or "").startswith(start):
                return cell.row, cell.column
    raise AssertionError(f"no cell starts with {start!r} on {ws.title}")


def _held(species):
    """What the workbook holds: its rows, and each model's probabilities over them (torch's)."""
    view = species.workbook_view(ROWS)
    return view, {name: run.predict(view.X).numpy() for name, run in view.runs.items()}


def test_the_data_sheet_holds_y_one_hot_by_formula_under_the_named_classes(species, book):
    _, formulas, values = book
    view, _ = _held(species)
    data, cached = formulas["Data"], values["Data"]
    assert [data.cell(5, c).value for c in range(4, 7)] == [f"y = {name}" for name in CLASSES]
    assert [cached.cell(4, c).value for c in range(4, 7)] == CLASSES  # the row INDEX reads the class from
    assert formulas.defined_names["classes_species"].attr_text == "Data!$D$4:$F$4"
    onehot = np.eye(3)[view.y.long().numpy()]
    for i in range(len(view.data)):
        r = 6 + i
        assert [data.cell(r, c).value for c in range(4, 7)] == [f'=IF(EXACT($C{r},"{name}"),1,0)' for name in CLASSES]
        assert [cached.cell(r, c).value for c in range(4, 7)] == onehot[i].tolist()
        assert cached.cell(r, 3).value == CLASSES[int(view.y[i])]
    assert formulas.defined_names["train_y"].attr_text == f"Data!$D$6:$F${5 + view.n_train}"


def test_each_model_sheet_writes_the_softmax_loss_and_class_per_row(species, book):
    _, formulas, values = book
    view, probs = _held(species)
    y = view.y.long().numpy()
    for name, run in view.runs.items():
        ws, cached = formulas[run.model.sheet], values[run.model.sheet]
        heads = [ws.cell(5, c).value for c in range(1, ws.max_column + 1)]
        first = heads.index("P(Adelie)") + 1
        assert heads[first - 1:first + 6] == ["P(Adelie)", "P(Chinstrap)", "P(Gentoo)", "Loss", "predicted (index)",
                                              "species predicted", "Correct"]
        p0, p1 = get_column_letter(first), get_column_letter(first + 2)
        s0, s1 = get_column_letter(first - 3), get_column_letter(first - 1)
        for i in range(len(view.data)):
            r = 6 + i
            assert _text(ws.cell(r, first)) == f"EXP(${s0}{r}:${s1}{r}-MAX(${s0}{r}:${s1}{r}))/SUM(EXP(${s0}{r}:" \
                                               f"${s1}{r}-MAX(${s0}{r}:${s1}{r})))"
            assert [cached.cell(r, first + k).value for k in range(3)] == pytest.approx(probs[name][i], abs=1e-15)
            assert ws.cell(r, first + 3).value == f"=-LN(SUMPRODUCT(${p0}{r}:${p1}{r},Data!$D{r}:$F{r}))"
            assert cached.cell(r, first + 3).value == pytest.approx(-math.log(probs[name][i][y[i]]), rel=1e-12)
            said = int(np.argmax(probs[name][i]))
            assert cached.cell(r, first + 4).value == said and cached.cell(r, first + 5).value == CLASSES[said]
            assert ws.cell(r, first + 5).value == f"=INDEX(classes_species,1,${get_column_letter(first + 4)}{r}+1)"
            assert cached.cell(r, first + 6).value == int(said == y[i]) and cached.cell(r, 2).value == y[i]


def test_the_descent_sheets_start_backpropagation_at_p_minus_onehot(species, book):
    _, formulas, _ = book
    for run in species.runs.values():
        ws = formulas[f"Descent{run.model.sheet}"]
        loss = _text(ws["B7"])
        assert loss.startswith("-SUMPRODUCT(train_y*LN(EXP(MMULT(") and loss.endswith("+(train_y=0)))/ROWS(train_y)")
        gradients = [_text(c) for c in ws[7] if (_text(c) or "").startswith("MMULT(TRANSPOSE(")]
        assert gradients and all("-train_y)/ROWS(train_y)" in g for g in gradients)


def test_every_formula_calls_only_functions_every_engine_has(book):
    _, formulas, _ = book
    used = set()
    for ws in formulas:
        for row in ws.iter_rows():
            for cell in row:
                text = _text(cell)
                if text and (text.startswith("=") or hasattr(cell.value, "text")):
                    used |= functions_used(text)
    assert {"LN", "EXP", "COUNTIFS", "COUNTIF", "MATCH", "INDEX", "EXACT"} <= used <= ALLOWED


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", ENGINES)
def test_the_class_workbook_verifies_and_its_confusion_matrix_is_numpys(species, book, engine):
    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    path, formulas, _ = book
    report = verify(path, engine=engine, timeout=300)
    assert report.ok, report
    view, probs = _held(species)
    y = view.y.long().numpy()
    n_train = view.n_train
    for name, run in view.runs.items():
        sheet = run.model.sheet
        said = probs[name].argmax(axis=1)
        for split, rows in (("train", slice(0, n_train)), ("valid", slice(n_train, None))):
            counts = np.zeros((3, 3), dtype=int)
            np.add.at(counts, (y[rows], said[rows]), 1)
            top, left = _find(formulas[sheet], f"Confusion matrix, {split} rows")
            recalc = report.recalculated[sheet]
            for i in range(3):
                assert formulas[sheet].cell(top + 2 + i, left).value == CLASSES[i]
                found = [recalc[(top + 1 + i, left + j)] for j in range(3)]  # 0-based: the row under the heads
                assert found == counts[i].tolist(), (sheet, split, i)
                assert recalc[(top + 1 + i, left + 3)] == counts[i].sum()  # the class's rows
                assert recalc[(top + 1 + i, left + 4)] == counts[i, i]  # right
            assert [recalc[(top + 4, left + j)] for j in range(3)] == counts.sum(axis=0).tolist()  # predicted
            assert "COUNTIFS(" in formulas[sheet].cell(top + 2, left + 1).value


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", ENGINES)
def test_the_softmax_formulas_are_torchs_on_scores_where_a_plain_exp_overflows(tmp_path, engine):
    """Scores about 800: e^800 is past a double, so EXP(z)/SUM(EXP(z)) fails; the row form (the
    row's maximum first) and the Descent sheets' form over every row (each row's mean first) give
    torch's probabilities, cell by cell."""
    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    gen = torch.Generator().manual_seed(3)
    z = 800 + 5 * torch.randn(6, 4, generator=gen, dtype=torch.float64)  # 6 rows of 4 scores
    z[0] = torch.tensor([800.0, -800.0, 0.0, 799.0])  # a row the row form alone takes: 1,600 apart
    want = torch.softmax(z, dim=1).numpy()
    path = tmp_path / "softmax.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    for i, row in enumerate(z.tolist()):
        ws.write_row(i, 0, row)
        ws.write_array_formula(i, 5, i, 8, "{=" + SOFTMAX.excel_row(f"$A{i + 1}:$D{i + 1}") + "}")
        ws.write_array_formula(i, 15, i, 18, "{=" + f"EXP($A{i + 1}:$D{i + 1})/SUM(EXP($A{i + 1}:$D{i + 1}))" + "}")
    ws.write_array_formula(1, 10, 5, 13, "{=" + SOFTMAX.excel("$A$2:$D$6", {"_width": 4}) + "}")
    wb.close()
    with recalculated(path, engine=engine) as out:
        got = openpyxl.load_workbook(out, data_only=True)["S"]
        rows = [[got.cell(i + 1, 6 + k).value for k in range(4)] for i in range(6)]
        block = [[got.cell(i + 1, 11 + k).value for k in range(4)] for i in range(1, 6)]
        naive = [got.cell(i + 1, 16).value for i in range(1, 6)]
    assert np.asarray(rows, dtype=float) == pytest.approx(want, rel=1e-12, abs=1e-300)
    assert np.asarray(block, dtype=float) == pytest.approx(want[1:], rel=1e-12)
    if engine == "libreoffice":  # the overflow the shift avoids (Gnumeric works in long double: e^800 fits there)
        assert naive == ["#NUM!"] * 5


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", ENGINES)
def test_the_digits_workbook_of_ten_classes_verifies(tmp_path_factory, engine):
    """scikit-learn's digits, 10 classes of 8 x 8 images: a mean image per class on the Digits
    sheet, each image's distances to all ten, and every sheet recalculated."""
    from sklearn.datasets import load_digits

    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    folder = tmp_path_factory.getbasetemp() / "digits-k"
    path = folder / "digits.xlsx"
    if not path.exists():
        folder.mkdir(exist_ok=True)
        load_digits(as_frame=True).frame.to_csv(folder / "digits.csv", index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InputWarning)
            result = titanic_reg.fit(folder / "digits.csv", target="target", models="linear", baselines=None,
                                     descent_steps=3)
        result.to_excel(path, max_rows=150)
    ws = openpyxl.load_workbook(path)["Digits"]
    means = [(r, c) for r in range(1, 20) for c in range(1, ws.max_column + 1)
             if (_text(ws.cell(r, c)) or "").startswith("mean ")]
    assert [_text(ws.cell(r, c)).split(":")[0] for r, c in means] == [f"mean {k}" for k in range(10)]
    assert len([1 for row in ws.iter_rows() for cell in row if (_text(cell) or "").startswith("L1, L2 to ")]) % 10 == 0
    report = verify(path, engine=engine, timeout=300)
    assert report.ok, report
