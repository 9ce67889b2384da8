"""About: what the workbook is, how to read it, the run's settings, how to check it."""
from __future__ import annotations

import textwrap

from .descent_sheet import model_note, sheet_name
from .layout import LINE_POINTS, Writer
from .style import LEGEND

WIDTH = 90  # column B's, in characters

WHAT = {  # the sheets of every workbook; the models' sheets say their own (Model.sheet_about ...)
    "Data": "the rows used (training rows first, then validation), raw, and the features by formula",
    "Recipe": "how each column becomes features, with the statistics by formula over the training rows",
    "Params": "the parameters torch fitted, one named block per parameter tensor (a row per unit)",
    "Digits": "a table with an image: a few images drawn from the Data sheet's pixels, the mean image of each "
              "class over the training rows, each image's L1 and L2 distance to the means, and the models' verdicts",
    "Weights": "a one-unit model's weight on each pixel, drawn in the image's shape (blue below 0, red above)",
    "Compare": "torch's losses against the workbook's; the linear optimum by torch, scikit-learn and LINEST; "
               "baselines",
    "Test": "the test rows with the same formulas, and the predictions' columns",
    "Losses": "the training loss after every step, as torch recorded it",
    "Charts": "the loss curves, and predictions against the truth",
}


def _classes_text(what: dict, result) -> None:
    """What each sheet shows for a target of K classes, in the formulas the entries write."""
    k, column = len(result.classes), result.recipe.target.column
    what["Data"] += (f"; y is {k} columns of 0/1, one-hot (a 1 under the row's class), under the row of classes "
                     f"named classes_{column}")
    what["Recipe"] += "; the classes in the order of the models' outputs, each with its training rows"
    what["Compare"] = ("torch's cross-entropy against the workbook's; every model and baseline; each one's rows "
                       "predicted as each class and the right ones (no least-squares optimum for K classes)")
    what["Charts"] = "the loss curves (predictions against the truth: the model sheets' confusion matrices)"
    for run in result.runs.values():
        model, loss = run.model, run.loss
        what[model.sheet] = (
            f"{model.about}: the {k} scores per row by one MMULT array formula per layer; the softmax per row, "
            f"{model.output.excel_row('z')} (z: the row's {k} scores; the largest subtracted first, as torch "
            f"does); the loss {loss.cell('p', 'onehot')}, -LN of the true class's probability; the predicted "
            f"class, its index by {model.output.decide_excel('p')} and the class by INDEX(classes_{column}); "
            "Correct; the scores per split; beside the rows, a confusion matrix per split by COUNTIFS (a row per "
            "true class, a column per predicted class) with each class's rows, right ones and rows predicted as it")
        what[sheet_name(model)] = (
            f"plain gradient descent on the {model.title} model, one row per step: the gradient starts at the "
            f"softmax's scores, {loss.gradient_excel('p', 'onehot')}, and is backpropagated through each layer "
            "by formula (the softmax over every row at once subtracts each row's mean score: an array formula "
            "cannot take a row's maximum)")


def write_about(w: Writer, result, sheets: list) -> None:
    ws, s = w.ws, w.s
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, WIDTH)
    wrap = s(None, None, text_wrap=True, valign="top")
    top = s(None, None, valign="top")  # a label beside a wrapped value sits on its first line

    def value(r, text):
        # Text wider than column B wraps in it: overflowing into C, it is cut off in print
        # and whenever C is not empty. The row is made tall enough here: LibreOffice fits
        # some wrapped rows' heights on opening and not others.
        if len(text) <= WIDTH + 8:  # text is narrower than the digits a column's width counts
            w.text(r, 1, text)
            return
        w.text(r, 1, text, wrap)
        ws.set_row(r, LINE_POINTS * len(textwrap.wrap(text, WIDTH)))

    title = result.recipe.title or result.recipe.target.column
    w.text(0, 0, f"titanic-reg: the fast.ai lesson's models, as live formulas: {title}", s.title)
    ws.write_string(1, 0, "Every number a model computes here is a formula over the raw data and the "
                          "parameters torch fitted.", s.note)
    ws.write_string(2, 0, "Each formula's stored value is torch's own number, so the spreadsheet and torch "
                          "can be compared cell by cell.", s.note)
    r = 3
    ws.write_string(r, 0, "Colours", s(None, None, bold=True))
    for kind, (_, meaning) in LEGEND.items():
        r += 1
        ws.write_string(r, 0, kind, s(kind))
        ws.write_string(r, 1, meaning, s())
    r += 2
    ws.write_string(r, 0, "Sheets", s(None, None, bold=True))
    what = dict(WHAT)
    for model in result.model_list:
        what[model.sheet] = model.sheet_about()
        what[sheet_name(model)] = model.descent_about()
        if model.matmul_text:
            what.setdefault("MatMul", model.matmul_text)
    if result.kind == "classes":
        _classes_text(what, result)
    for name in sheets:
        if name == "About":
            continue
        r += 1
        ws.write_url(r, 0, f"internal:'{name}'!A1", s(None, None, valign="top", font_color="blue", underline=1),
                     string=name)
        value(r, what.get(name, ""))
    described = any(run.descent is not None for run in result.runs.values())
    for run in result.runs.values():
        why = model_note(result, run) if described else None
        if why:
            r += 1
            w.text(r, 0, f"{sheet_name(run.model)} (left out)", top)
            value(r, f"the {run.title} model has no Descent sheet: {why}")
    r += 2
    recipe = result.recipe
    ws.write_string(r, 0, "Recipe", s(None, None, bold=True, valign="top"))
    value(r, f"{recipe.source}; the Recipe sheet has the statistics by formula")
    r += 1
    w.text(r, 0, f"target: {recipe.target.column}", top)
    value(r, f"{recipe.target.describe(result.fitted.target)}: {recipe.target.reason}")
    if recipe.models_reason:
        r += 1
        w.text(r, 0, "models", top)
        value(r, f"{', '.join(recipe.models)} unless --models says otherwise: {recipe.models_reason}")
    blocks = set()
    for spec in recipe.inputs:
        if spec.block is not None:  # a block of columns (an image's pixels) is said once
            if spec.block in blocks:
                continue
            blocks.add(spec.block)
            columns = [t.column for t in recipe.inputs if t.block == spec.block]
            r += 1
            w.text(r, 0, f"{spec.block} ({len(columns):,} columns, {columns[0]} to {columns[-1]})", top)
            value(r, f"{spec.kind}: {spec.reason}")
            continue
        r += 1
        w.text(r, 0, spec.column, top)
        value(r, f"{spec.kind}: {spec.reason}")
    for column, why in recipe.left_out.items():
        r += 1
        w.text(r, 0, f"{column} (left out)", top)
        value(r, why)
    for found in result.leakage:
        r += 1
        w.text(r, 0, f"{found['column']} (warning)", top)
        value(r, "alone it predicts the target almost perfectly on the training rows: leakage? "
                     "(metrics.json, leakage)")
    r += 2
    ws.write_string(r, 0, "Features", s(None, None, bold=True))
    for f in result.fitted.features:
        r += 1
        w.text(r, 0, f.name, top)
        value(r, f.doc)
    r += 2
    ws.write_string(r, 0, "Settings of this run", s(None, None, bold=True))
    st = result.provenance
    rows = [
        ("training file", st["train"]), ("sha256", st["sha256"]["train"]),
        ("test file", st["test"] or "none"), ("test sha256", st["sha256"].get("test", "-")),
        ("rows", f"{result.n_train:,} training, {len(result.data) - result.n_train:,} validation, "
                 f"{result.dropped:,} dropped for missing values, {result.no_target:,} without a target"),
        ("missing values", st["missing"]), ("validation share", str(st["valid_pct"])),
        ("seed", str(st["seed"])), ("device", st["device"]),
    ]
    for name, run in result.runs.items():
        cfg, trained = run.config, run.trained
        steps = _count(len(trained.history) - 1, "step")
        how = f"{run.optimizer_title}, {steps}"
        if cfg.optimizer == "cg":
            how += " (converged)" if trained.converged else f" (stopped at --epochs {cfg.epochs}, not converged)"
        else:
            how += f", learning rate {cfg.lr}"
        if trained.screen:
            starts = (f"{cfg.restarts} random starts screened together for {_count(trained.screen['steps'], 'step')} "
                      f"on a seeded sample of {trained.screen['rows']:,} training rows; the best on every row then "
                      f"trained for the steps above")
        elif cfg.restarts > 1:
            starts = f"{cfg.restarts:,} random starts trained at once, the best kept"
        else:
            starts = "from one random start"
        rows.append((f"{name}", f"{how}; {starts}"))
    if described:
        rates = ", ".join(f"{name} {run.descent_lr:g}" for name, run in result.runs.items() if run.descent_lr)
        rows.append(("Descent sheets", f"a separate run of plain gradient descent (w -= lr * grad), lr {rates}, "
                                       f"{result.descent_steps} steps, from the kept start's initial parameters"
                                       + (f" ({result.descent_asked} asked: rebuilding each weight matrix from its "
                                          "step's row by MMULT costs so much a step that more would take the "
                                          "spreadsheet engines many minutes)"
                                          if result.descent_asked else "")))
    if result.sample_of:
        rows.append(("SAMPLE", f"the sheets hold a seeded sample of {len(result.data):,} of "
                               f"{result.sample_of['rows']:,} rows (--sheet-rows); torch and the metrics used every row"))
    rows.append(("predictions from", result.submit_model))
    rows.append(("library versions", ", ".join(f"{k} {v}" for k, v in st["versions"].items())))
    for name, text in rows:
        r += 1
        ws.write_string(r, 0, name, top)
        value(r, text)  # paths and versions come from outside: made XML-safe
    r += 2
    ws.write_string(r, 0, "How to check it", s(None, None, bold=True))
    for line in (
        f"titanic-reg verify {result.recipe.workbook_name}",
        "LibreOffice recalculates every formula from scratch, and each result is compared with",
        "the value stored here (torch's): it passes when every difference is within 1e-9",
        "and no cell holds an error.",
        "Or by hand: change a parameter on Params, or a raw value on Data, and watch every sheet follow.",
    ):
        r += 1
        value(r, line)


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"
