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

from . import digits_sheet, weights_sheet
from .about_sheet import write_about
from .charts_sheet import write_charts, write_history
from .compare_sheet import write_compare
from .data_sheet import define_training_ranges, fill_note, write_rows
from .descent_sheet import model_note, sheet_name, write_descent
from .layout import HEADER_ROW, Writer, new_workbook
from .model_sheets import write_model_sheet, write_params, write_test_models
from .names import Names
from .recipe_sheet import write_recipe_sheet
from .style import Styles

MAX_SHEET_COLUMNS = 16_384


MATMUL = "MatMul"  # the sheet of a model that has a MatMul view (Model.matmul_text)


def sheet_names(result) -> list[str]:
    """The workbook's sheets in order: the models' from the run's models."""
    models = result.model_list
    mmult = [MATMUL] if _matmul_model(result) else []
    descent = [sheet_name(run.model) for run in result.runs.values() if model_note(result, run) is None]
    images = [m.SHEET for m in (digits_sheet, weights_sheet) if m.wanted(result)]
    return (["About", "Data", "Recipe", "Params", *[m.sheet for m in models], *mmult, *images, "Compare"]
            + (["Test"] if result.test is not None else []) + descent + ["Losses", "Charts"])


def _matmul_model(result):
    """The first model with a MatMul view (the lesson's two ReLUs), or None."""
    return next((m for m in result.model_list if m.matmul_text), None)


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
    result = result.workbook_view(max_rows)
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
        if name in ("Data", MATMUL, "Test", *[m.sheet for m in result.model_list]):
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
    for run in result.runs.values():
        summaries[run.name] = write_model_sheet(writers[run.model.sheet], result, run, data, names)
    if MATMUL in writers:
        write_model_sheet(writers[MATMUL], result, result.runs[_matmul_model(result).name], data, names, mmult=True)
    if digits_sheet.SHEET in writers:
        digits_sheet.write_digits(writers[digits_sheet.SHEET], result, data, summaries)
    if weights_sheet.SHEET in writers:
        weights_sheet.write_weights(writers[weights_sheet.SHEET], result)
    write_compare(writers["Compare"], result, summaries, names)
    if result.test is not None:
        t = writers["Test"]
        t.text(0, 0, "Test: the test rows, features and predictions by the same formulas", styles.title)
        t.text(1, 0, "Statistics are the training rows', from the Recipe sheet. " + fill_note(result, result.test),
               styles.note)
        block = write_rows(t, "Test", result, result.test, result.X_test, names, labelled=False)
        write_test_models(t, result, block, block.last_feature + 1 + len(result.test.show), names)
    for run in result.runs.values():
        if sheet_name(run.model) in writers:
            write_descent(writers[sheet_name(run.model)], result, run)
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
    seconds = int(result.provenance["sha256"]["train"][:8], 16) % (30 * 365 * 86400)
    return dt.datetime(2000, 1, 1) + dt.timedelta(seconds=seconds)
