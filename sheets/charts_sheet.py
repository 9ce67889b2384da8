"""Charts: the recorded training losses, and predictions against the truth."""
from __future__ import annotations

import math

import numpy as np

from titanic_reg.ticks import FLOOR

from .layout import FIRST_ROW, Writer, ref, span

# The calibration bins: [0, 0.1), [0.1, 0.2), ..., [0.9, 1]. The first also takes the
# predictions below 0 and the last those above 1 (a linear model's can be either).
EDGES = [round(0.1 * k, 1) for k in range(11)]


def write_history(w: Writer, result) -> dict:
    """The loss after each step, as torch recorded it (reported values, not formulas)."""
    ws, s = w.ws, w.s
    ws.write_string(0, 0, "Losses: training loss after each step, as torch recorded it", s.title)
    w.headers(2, 0, ["step", *[m.title for m in result.model_list]], [8, 14])
    longest = max(len(run.trained.history) for run in result.runs.values())
    for i in range(longest):
        ws.write_number(3 + i, 0, i, s())
    where = {}
    for k, run in enumerate(result.runs.values()):
        model, history = run.model, run.trained.history
        for i, loss in enumerate(history):
            w.reported(3 + i, 1 + k, loss, "loss")
        where[model.name] = (1 + k, 3, 3 + len(history) - 1)
    ws.freeze_panes(3, 1)
    return where


def loss_y_axis(lo: float, hi: float) -> dict:
    """The loss chart's y axis over lo..hi (> 0): within a factor of 10, a plain one with round
    bounds and 4 to 8 gridlines (0.10, 0.15, ..., 0.40); wider, a log axis over whole decades."""
    if not (0 < lo <= hi and math.isfinite(hi)):
        return {"log_base": 10}
    lo = max(lo, hi * FLOOR)
    if hi / lo > 10:
        return {"log_base": 10, "min": 10.0 ** math.floor(math.log10(lo)),
                "max": 10.0 ** math.ceil(math.log10(hi)), "minor_gridlines": {"visible": True}}
    if hi - lo < 1e-12 * hi:
        lo, hi = lo * 0.95, hi * 1.05
    for exponent in range(math.floor(math.log10(hi - lo)) - 2, math.floor(math.log10(hi - lo)) + 2):
        for m in (1, 2, 2.5, 5):
            unit = m * 10.0 ** exponent
            low, high = math.floor(lo / unit) * unit, math.ceil(hi / unit) * unit
            if (high - low) / unit <= 8:
                decimals = max(0, -math.floor(math.log10(unit) + 1e-9) + (m == 2.5))
                return {"min": round(low, 12), "max": round(high, 12), "major_unit": round(unit, 12),
                        "num_format": "0" + ("." + "0" * decimals if decimals else "")}
    return {}


def write_charts(w: Writer, result, history: dict, summaries: dict) -> None:
    ws, s, wb = w.ws, w.s, w.wb
    ws.write_string(0, 0, "Charts", s.title)
    # Steps on a log axis, so that conjugate gradient's dozen steps show beside Adam's
    # thousand. Step 0 (the start) cannot sit on a log axis: the series start at step 1;
    # the Losses sheet has step 0.
    loss = wb.add_chart({"type": "scatter", "subtype": "straight"})
    shown, last = [], 1
    for run in result.runs.values():
        model = run.model
        c, r0, r1 = history[model.name]
        if r1 <= r0:
            continue  # no step taken: nothing after the start
        steps = run.trained.history[1:]
        series = {
            "name": _series_name(run),
            "categories": ["Losses", r0 + 1, 0, r1, 0],
            "values": ["Losses", r0 + 1, c, r1, c],
        }
        if len(steps) <= 60:  # a marker on each of conjugate gradient's steps
            series["marker"] = {"type": "circle", "size": 4}
        loss.add_series(series)
        shown += [float(v) for v in steps]
        last = max(last, len(steps))
    loss.set_title({"name": "Training loss by step, from step 1 (torch's record)", "name_font": {"size": 13}})
    loss.set_x_axis({"name": "step (log axis; step 0, the start, is on Losses)", "log_base": 10, "min": 1,
                     "max": 10 ** max(1, math.ceil(math.log10(last))), "num_format": "#,##0",
                     "major_gridlines": {"visible": True, "line": {"color": "#BFBFBF"}},
                     "minor_gridlines": {"visible": True, "line": {"color": "#EDEDED"}}})
    positive = [v for v in shown if v > 0 and math.isfinite(v)]
    y_axis = loss_y_axis(min(positive, default=0), max(positive, default=0))
    trained = "cross-entropy" if result.kind == "classes" else "MSE"
    loss.set_y_axis({"name": f"training {trained}" + (" (log axis)" if "log_base" in y_axis else ""), **y_axis})
    loss.set_legend({"position": "bottom"})
    loss.set_size({"width": 640, "height": 360})
    ws.insert_chart(2, 0, loss)

    if result.kind == "binary":
        _calibration(w, result, summaries)
    elif result.kind == "classes":
        ws.write_string(22, 0, "Predictions against the truth, for K classes: each model sheet's confusion "
                               "matrices (COUNTIFS, beside its rows)", s(None, None, bold=True))
    else:
        _predicted_against_actual(w, result, summaries)


def _series_name(run) -> str:
    """A loss curve's legend entry; a screened run's curve starts where its screening ended, so
    it is nearly flat: the name says so."""
    name = f"{run.model.title} ({run.optimizer_title})"
    screen = run.trained.screen
    if screen:
        name += (f", every row, after {screen['steps']:,} steps of screening on {screen['rows']:,} "
                 "sampled rows (not shown)")
    return name


def _calibration(w: Writer, result, summaries: dict) -> None:
    """Among training rows whose prediction falls in a bin, the share that is positive."""
    ws, s, wb = w.ws, w.s, w.wb
    top = 22
    ws.write_string(top, 0, "Predictions against the truth (training rows): the share that is 1 among rows "
                            "whose prediction falls in each bin (the first bin also takes predictions below 0, "
                            "the last those above 1)", s(None, None, bold=True))
    headers = ["from", "below", "centre"]
    for model in result.model_list:
        headers += [f"{model.title}: rows", f"{model.title}: share of 1"]
    w.headers(top + 1, 0, headers, [8, 8, 8, 12])
    n = result.n_train
    y = result.y[:n].numpy()
    rows = (FIRST_ROW, FIRST_ROW + n - 1)
    bins = len(EDGES) - 1
    for b in range(bins):
        r = top + 2 + b
        lo, hi = EDGES[b], EDGES[b + 1]
        w.param(r, 0, lo, "feature")
        w.param(r, 1, hi, "feature")
        w.formula(r, 2, f"(A{r + 1}+B{r + 1})/2", (lo + hi) / 2, "feature")
        for k, run in enumerate(result.runs.values()):
            summary = summaries[run.name]
            preds = span(summary.pred_col, summary.pred_col, *rows, summary.sheet)
            y_range = span(summary.y_col, summary.y_col, *rows, summary.sheet)
            p = run.predict(result.X[:n]).numpy()
            # The end bins are open: everything below 0.1, everything from 0.9.
            criteria, inside = [], np.ones(len(p), dtype=bool)
            if b > 0:
                criteria.append(f'{preds},">="&A{r + 1}')
                inside = inside & (p >= lo)
            if b < bins - 1:
                criteria.append(f'{preds},"<"&B{r + 1}')
                inside = inside & (p < hi)
            crit = ",".join(criteria)
            count = int(inside.sum())
            c = 3 + 2 * k
            w.formula(r, c, f"COUNTIFS({crit})", count, "int")
            # MAX(1, rows) keeps an empty bin at 0 instead of #DIV/0!.
            w.formula(r, c + 1, f"SUMIFS({y_range},{crit})/MAX(1,{ref(c, r)})",
                      float(y[inside].sum()) / max(1, count), "acc")
    last = top + 2 + bins - 1
    # The diagonal of perfect calibration, corner to corner.
    perfect = last + 2
    ws.write_string(perfect, 0, "The dashed line, perfect calibration: share of 1 = prediction",
                    s(None, None, bold=True))
    for i, v in enumerate((0.0, 1.0)):
        w.param(perfect + 1 + i, 0, v, "feature")
        w.formula(perfect + 1 + i, 1, ref(0, perfect + 1 + i), v, "feature")
    cal = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    for k, model in enumerate(result.model_list):
        c = 4 + 2 * k
        cal.add_series({"name": model.title, "categories": ["Charts", top + 2, 2, last, 2],
                        "values": ["Charts", top + 2, c, last, c]})
    cal.add_series({"name": "perfect calibration", "categories": ["Charts", perfect + 1, 0, perfect + 2, 0],
                    "values": ["Charts", perfect + 1, 1, perfect + 2, 1],
                    "line": {"dash_type": "dash", "color": "#7F7F7F"}, "marker": {"type": "none"}})
    cal.set_title({"name": "Predicted against observed (training rows)"})
    cal.set_x_axis({"name": "prediction (bin centre)", "min": 0, "max": 1, "major_unit": 0.1, "num_format": "0.0"})
    cal.set_y_axis({"name": "share that is 1", "min": 0, "max": 1, "major_unit": 0.1, "num_format": "0.0"})
    cal.set_size({"width": 640, "height": 360})
    ws.insert_chart(top + 2, max(8, 3 + 2 * len(result.model_list) + 1), cal)


def _predicted_against_actual(w: Writer, result, summaries: dict) -> None:
    """A number target: each training row's prediction against its value, from the model sheets."""
    ws, s, wb = w.ws, w.s, w.wb
    top = 22
    ws.write_string(top, 0, "Predicted against actual (training rows), from each model sheet's Prediction "
                            "column; on the dashed line a prediction is exact", s(None, None, bold=True))
    n = result.n_train
    first, last = FIRST_ROW, FIRST_ROW + n - 1
    chart = wb.add_chart({"type": "scatter"})
    truth = result.output(result.y[:n]).numpy()
    lo, hi = float(truth.min()), float(truth.max())
    colours = ("#4472C4", "#C0504D", "#9BBB59")  # one per model: LibreOffice draws every scatter alike
    for k, model in enumerate(result.model_list):
        summary = summaries[model.name]
        colour = colours[k % len(colours)]
        chart.add_series({"name": model.title,
                          "categories": [summary.sheet, first, summary.y_col, last, summary.y_col],
                          "values": [summary.sheet, first, summary.output_col, last, summary.output_col],
                          "marker": {"type": "circle", "size": 3, "fill": {"color": colour},
                                     "border": {"color": colour}}})
    w.headers(top + 1, 0, ["actual", "exact"], [12, 12])
    for i, v in enumerate((lo, hi)):
        w.param(top + 2 + i, 0, v, "pred")
        w.formula(top + 2 + i, 1, ref(0, top + 2 + i), v, "pred")
    chart.add_series({"name": "exact", "categories": ["Charts", top + 2, 0, top + 3, 0],
                      "values": ["Charts", top + 2, 1, top + 3, 1], "marker": {"type": "none"},
                      "line": {"dash_type": "dash", "color": "#7F7F7F"}})
    column = result.recipe.target.column
    chart.set_title({"name": f"Predicted against actual {column} (training rows)"})
    chart.set_x_axis({"name": f"actual {column}"})
    chart.set_y_axis({"name": f"predicted {column}"})
    chart.set_size({"width": 640, "height": 420})
    ws.insert_chart(top + 2, 3, chart)
