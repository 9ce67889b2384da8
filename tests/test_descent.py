"""The Descent sheets: gradient descent by formula, step for step with torch."""
import openpyxl
import pytest
from tests.helpers import copy_last_row_down
from python_calamine import CalamineWorkbook

from titanic_reg.sheets.descent_sheet import STEP0_ROW, sheet_name
from titanic_reg.sheets.recalc import recalculated
from titanic_reg.sheets.workbook import write_workbook
from titanic_reg.descent import plain_descent
from titanic_reg.models import get

LINEAR, TWO_RELU = get("linear"), get("two_relu")
MODELS = {m.name: m for m in (LINEAR, TWO_RELU)}

pytestmark = pytest.mark.libreoffice


def test_descent_matches_the_lessons_loop(lesson_fit):
    d = lesson_fit.workbook_view().runs["linear"].descent
    assert len(d.losses) == 51 and d.lr == 0.1
    assert d.params[0].tolist() == lesson_fit.runs["linear"].trained.init.tolist()
    assert (d.params[1] - (d.params[0] - 0.1 * d.grads[0])).abs().max() == 0
    assert d.losses[-1] < d.losses[0]


def test_copying_the_last_row_down_takes_torchs_next_step(lesson_fit, tmp_path, soffice):
    path = write_workbook(lesson_fit, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    steps = len(lesson_fit.workbook_view().runs["linear"].descent.losses) - 1
    last = STEP0_ROW + steps + 1  # 1-based row of the last step
    for model in MODELS.values():  # twice: the second step uses the first copy's gradients
        copy_last_row_down(wb[sheet_name(model)], last)
        copy_last_row_down(wb[sheet_name(model)], last + 1)
    copied = tmp_path / "copied.xlsx"
    wb.save(copied)
    with recalculated(copied) as out:
        book = CalamineWorkbook.from_path(str(out))
        for model in (LINEAR, TWO_RELU):
            rows = book.get_sheet_by_name(sheet_name(model)).to_python(skip_empty_area=False)
            torch_next = plain_descent(model, lesson_fit.X, lesson_fit.y,
                                       lesson_fit.runs[model.name].trained.init, steps + 2)
            assert rows[last][0] == steps + 1 and rows[last + 1][0] == steps + 2  # the step counter followed
            for i in range(steps + 3):
                assert rows[STEP0_ROW + i][1] == pytest.approx(float(torch_next.losses[i]), abs=1e-9)


def test_rebuilding_matrices_is_counted_as_the_descent_sheet_writes_it():
    """A Descent step rebuilds each tensor of several rows from its row, MMULT(W_r*row, W_c): rows
    x size x cols multiply-adds for each use in the step's formulas, whatever the data's rows."""
    from titanic_reg.losses import CROSS_ENTROPY, MSE
    from titanic_reg.sheets.descent_sheet import formulas

    for model, p, loss in ((get("mlp:16").with_classes(10), 65, CROSS_ENTROPY), (get("linear").with_classes(3), 9,
                                                                                 CROSS_ENTROPY), (get("mlp:8"), 10, None)):
        loss = loss or MSE
        mean, grads = formulas(model, p, STEP0_ROW + 3, loss)
        text = mean + "".join(grads.values())
        want = sum(text.count(f"{t.name}_r*") * t.rows * t.size * t.cols for t in model.tensors(p) if t.rows > 1)
        assert model.descent_rebuild_work(p, loss) == want > 0
    assert get("linear").descent_rebuild_work(785) == 0  # one row of weights: its range as it is


def test_a_workbook_shows_fewer_descent_steps_where_rebuilding_would_cost_too_much(tmp_path, monkeypatch):
    """Ten classes over 64 pixels (scikit-learn's digits), linear and mlp:4: 50 steps by default;
    with a budget of five steps' work, five steps on every Descent sheet, and the About sheet says so."""
    import warnings

    from sklearn.datasets import load_digits

    import titanic_reg
    from titanic_reg import sample

    load_digits(as_frame=True).frame.iloc[:200].to_csv(tmp_path / "d.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = titanic_reg.fit(tmp_path / "d.csv", target="target", models="linear,mlp:4", baselines=None,
                                 epochs=20, progress=False)
    per_step = sum(r.model.descent_rebuild_work(len(result.features), r.loss) for r in result.runs.values())
    assert sample.descent_steps(result) == 50 and 50 * per_step <= sample.REBUILD_WORK
    monkeypatch.setattr(sample, "REBUILD_WORK", 5 * per_step + 1)
    view = sample.workbook_view(result)
    assert (view.descent_steps, view.descent_asked) == (5, 50)
    assert all(len(run.descent.losses) == 6 for run in view.runs.values())
    path = result.to_excel(tmp_path / "d.xlsx")
    book = openpyxl.load_workbook(path, data_only=True)
    for run in result.runs.values():
        ws = book[sheet_name(run.model)]
        assert ws.cell(STEP0_ROW + 1 + 5, 1).value == 5 and ws.cell(STEP0_ROW + 1 + 6, 1).value is None
    about = [row for row in book["About"].iter_rows(values_only=True) if row[0] == "Descent sheets"]
    assert "5 steps" in about[0][1] and "(50 asked" in about[0][1]
