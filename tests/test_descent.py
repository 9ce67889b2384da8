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
