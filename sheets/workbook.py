"""write_workbook(): the lesson's spreadsheet, generated from a FitResult.

Every number a model computes is a live formula; its cached value is torch's own
number for the same step, so the file reads right where nothing recalculates, and
`titanic-reg verify` proves that a real spreadsheet engine gets the same.
"""
from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

from xlsxwriter.exceptions import FileCreateError

from titanic_reg import models as registry

from .about_sheet import write_about
from .charts_sheet import write_charts, write_history
from .compare_sheet import write_compare
from .data_sheet import define_training_ranges, fill_note, write_rows
from .descent_sheet import left_out, sheet_name, write_descent
from .layout import HEADER_ROW, Writer, new_workbook
from .model_sheets import write_model_sheet, write_params, write_test_models
from .names import Names
from .recipe_sheet import write_recipe_sheet
from .sample import for_sheets
from .style import Styles

MAX_SHEET_COLUMNS = 16_384


def sheet_names(result) -> list[str]:
    """The workbook's sheets in order: the models' from the run's models."""
    models = result.model_list
    mmult = ["MatMul"] if "two_relu" in result.models else []
    descent = [sheet_name(m) for m in models if result.descent and model_note(result, m) is None]
    return (["About", "Data", "Recipe", "Params", *[m.sheet for m in models], *mmult, "Compare"]
            + (["Test"] if result.test is not None else []) + descent + ["Losses", "Charts"])


def model_note(result, model) -> str | None:
    """Why `model` has no Descent sheet in this workbook, or None."""
    if model.name not in result.descent:
        return "no Descent run"
    return left_out(model, len(result.features), len(result.descent[model.name].losses) - 1)


def too_wide(model, p: int) -> str | None:
    """Why a model's own sheet cannot be written (a spreadsheet limit), or None."""
    columns = 2 + sum(model.widths(p)) + 3
    if columns > MAX_SHEET_COLUMNS:
        return (f"model {model.name}: its sheet needs {columns:,} columns, past a sheet's {MAX_SHEET_COLUMNS:,}; "
                "choose fewer units, or leave the workbook out")
    if 2 + max(t.cols for t in model.tensors(p)) > MAX_SHEET_COLUMNS:
        return f"model {model.name}: its parameters need more columns than a sheet's {MAX_SHEET_COLUMNS:,}"
    return None


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
    wanted = sheet_names(result)
    sheets = {name: wb.add_worksheet(name) for name in wanted}
    writers = {name: Writer(wb, ws, styles) for name, ws in sheets.items()}
    for name, ws in sheets.items():
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # printed one page wide, as long as it needs
        if name in ("Data", "MatMul", "Test", *[m.sheet for m in result.model_list]):
            ws.repeat_rows(HEADER_ROW)

    names = Names()
    names.reserve(t.name for m in result.model_list for t in m.tensors(len(result.features)))
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
    for model in result.model_list:
        summaries[model.name] = write_model_sheet(writers[model.sheet], result, model, data, names)
    if "MatMul" in writers:
        write_model_sheet(writers["MatMul"], result, registry.get("two_relu"), data, names, mmult=True)
    write_compare(writers["Compare"], result, summaries, names)
    if result.test is not None:
        t = writers["Test"]
        t.text(0, 0, "Test: the test rows, features and predictions by the same formulas", styles.title)
        t.text(1, 0, "Statistics are the training rows', from the Recipe sheet. " + fill_note(result, result.test),
               styles.note)
        block = write_rows(t, "Test", result, result.test, result.X_test, names, labelled=False)
        write_test_models(t, result, block, block.last_feature + 1 + len(result.test.show), names)
    for model in result.model_list:
        if sheet_name(model) in writers:
            write_descent(writers[sheet_name(model)], result, model)
    history = write_history(writers["Losses"], result)
    write_charts(writers["Charts"], result, history, summaries)
    write_about(writers["About"], result, list(sheets))
    sheets["About"].activate()
    try:
        wb.close()
    except FileCreateError as exc:  # XlsxWriter's wrapper of the OSError (a full disk, say): the OSError
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc))
        raise cause from None
    return path


def _stamp(result) -> dt.datetime:
    """A creation time derived from the input's hash: stable across runs, never the clock."""
    seconds = int(result.settings["sha256"]["train"][:8], 16) % (30 * 365 * 86400)
    return dt.datetime(2000, 1, 1) + dt.timedelta(seconds=seconds)
