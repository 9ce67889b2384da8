"""write_workbook(): the lesson's spreadsheet, generated from a FitResult.

Every number a model computes is a live formula; its cached value is torch's own
number for the same step, so the file reads right where nothing recalculates, and
`titanic-reg verify` proves that a real spreadsheet engine gets the same.
"""
from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

from titanic_reg.models import MODELS, TWO_RELU

from .about_sheet import write_about
from .charts_sheet import write_charts, write_history
from .compare_sheet import write_compare
from .data_sheet import define_training_ranges, fill_note, write_rows
from .descent_sheet import sheet_name, write_descent
from .layout import HEADER_ROW, Writer, new_workbook
from .model_sheets import write_model_sheet, write_params, write_test_models
from .names import Names
from .recipe_sheet import write_recipe_sheet
from .sample import for_sheets
from .style import Styles

SHEETS = ("About", "Data", "Recipe", "Params", "Linear", "TwoReLU", "MatMul", "Compare", "Test",
          "DescentLinear", "DescentTwoReLU", "History", "Charts")


def write_workbook(result, path, max_rows: int | None = None) -> Path:
    """Write the workbook; beyond `max_rows` rows (sample.default_rows when None) it holds a
    labelled, seeded sample."""
    # XlsxWriter makes an object or two per cell and no reference cycles: the cyclic garbage
    # collector only walks them over and over (an eighth of the lesson's workbook's time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _write(result, path, max_rows)
    finally:
        if enabled:
            gc.enable()


def _write(result, path, max_rows) -> Path:
    path = Path(path)
    result = for_sheets(result, max_rows)
    wb = new_workbook(path)
    # Timestamps from the data, not the clock, so the same run gives the same bytes.
    wb.set_properties({"title": f"titanic-reg workbook: {result.recipe.title or result.recipe.name}",
                       "created": _stamp(result)})
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

    names = Names()
    data_ws = writers["Data"]
    data_ws.text(0, 0, f"Data: the rows used, raw (blue) and the {len(result.features)} features by formula "
                       "(green)" + (f" - a seeded SAMPLE of {len(result.data):,} of {result.sample_of['rows']:,} rows"
                                    if result.sample_of else ""), styles.title)
    data_ws.text(1, 0, "Statistics (fill values, scales, kept levels) are on the Recipe sheet, by formula over the "
                       "training rows. " + fill_note(result, result.data), styles.note)
    data = write_rows(data_ws, "Data", result, result.data, result.X, names, labelled=True)
    define_training_ranges(wb, result, data)
    write_recipe_sheet(writers["Recipe"], result, data, names)
    write_params(writers["Params"], result)
    summaries = {}
    for model in MODELS.values():
        summaries[model.name] = write_model_sheet(writers[model.sheet], result, model, data, names)
    write_model_sheet(writers["MatMul"], result, TWO_RELU, data, names, mmult=True)
    write_compare(writers["Compare"], result, summaries, names)
    if result.test is not None:
        t = writers["Test"]
        t.text(0, 0, "Test: the test rows, features and predictions by the same formulas", styles.title)
        t.text(1, 0, "Statistics are the training rows', from the Recipe sheet. " + fill_note(result, result.test),
               styles.note)
        block = write_rows(t, "Test", result, result.test, result.X_test, names, labelled=False)
        write_test_models(t, result, block, block.last_feature + 1 + len(result.test.show), names)
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
