"""write_workbook(): the lesson's spreadsheet, generated from a FitResult.

Every number a model computes is a live formula; its cached value is torch's own
number for the same step, so the file reads right where nothing recalculates, and
`titanic-reg verify` proves that a real spreadsheet engine gets the same.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from titanic_reg.models import MODELS, TWO_RELU

from .about_sheet import write_about
from .charts_sheet import write_charts, write_history
from .compare_sheet import write_compare
from .descent_sheet import sheet_name, write_descent
from .layout import HEADER_ROW, Writer, new_workbook
from .model_sheets import write_model_sheet, write_params, write_test_models
from .passengers import fill_note, write_passengers, write_stats
from .sample import DEFAULT_MAX_ROWS, for_sheets
from .style import Styles

DATA_RAW = ("PassengerId", "Split", "Survived", "Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")
TEST_RAW = ("PassengerId", "Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")
SHEETS = ("About", "Data", "Params", "Linear", "TwoReLU", "MatMul", "Compare", "Test",
          "DescentLinear", "DescentTwoReLU", "History", "Charts")


def write_workbook(result, path, max_rows: int = DEFAULT_MAX_ROWS) -> Path:
    """Write the workbook; beyond `max_rows` rows it holds a labelled, seeded sample."""
    path = Path(path)
    result = for_sheets(result, max_rows)
    wb = new_workbook(path)
    # Timestamps from the data, not the clock, so the same run gives the same bytes.
    wb.set_properties({"title": "titanic-reg workbook", "created": _stamp(result)})
    styles = Styles(wb)
    wanted = [name for name in SHEETS
              if (name != "Test" or result.test is not None) and (not name.startswith("Descent") or result.descent)]
    sheets = {name: wb.add_worksheet(name) for name in wanted}
    writers = {name: Writer(wb, ws, styles) for name, ws in sheets.items()}
    for name, ws in sheets.items():
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # printed one page wide, as long as it needs
        if name in ("Data", "Linear", "TwoReLU", "MatMul", "Test"):
            ws.repeat_rows(HEADER_ROW)

    data_ws = writers["Data"]
    data_ws.ws.write_string(0, 0, "Data: the rows used, raw (blue) and the ten features by formula (green)"
                            + (f" - a seeded SAMPLE of {len(result.frame):,} of {result.sample_of['rows']:,} rows"
                               if result.sample_of else ""), styles.title)
    data = write_passengers(data_ws, "Data", result.frame, result.X, DATA_RAW)
    write_stats(data_ws, result, data)
    write_params(writers["Params"], result)
    summaries = {}
    for model in MODELS.values():
        summaries[model.name] = write_model_sheet(writers[model.sheet], result, model, data)
    write_model_sheet(writers["MatMul"], result, TWO_RELU, data, mmult=True)
    write_compare(writers["Compare"], result, summaries)
    if result.test is not None:
        t = writers["Test"]
        t.ws.write_string(0, 0, "Test: Kaggle's test rows, features and predictions by the same formulas",
                          styles.title)
        t.ws.write_string(1, 0, "Statistics (max Age, fill values) are the training rows', from the Data "
                                "sheet. " + fill_note(result.test), styles.note)
        block = write_passengers(t, "Test", result.test, result.X_test, TEST_RAW)
        write_test_models(t, result, block, block.last_feature + 1)
    for model in MODELS.values():
        if model.name in result.descent:
            write_descent(writers[sheet_name(model)], result, model)
    history = write_history(writers["History"], result)
    write_charts(writers["Charts"], result, history, summaries)
    write_about(writers["About"], result, list(sheets))
    sheets["About"].activate()
    wb.close()
    return path


def _stamp(result) -> dt.datetime:
    """A creation time derived from the input's hash: stable across runs, never the clock."""
    seconds = int(result.settings["sha256"]["train"][:8], 16) % (30 * 365 * 86400)
    return dt.datetime(2000, 1, 1) + dt.timedelta(seconds=seconds)
