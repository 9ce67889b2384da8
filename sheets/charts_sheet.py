"""Charts: the recorded training losses, and predictions against the truth."""
from __future__ import annotations

import numpy as np

from .layout import FIRST_ROW, Writer, ref, span

EDGES = [-100.0] + [round(0.1 * k, 1) for k in range(1, 10)] + [100.0]


def write_history(w: Writer, result) -> dict:
    """The loss after each step, as torch recorded it (reported values, not formulas)."""
    ws, s = w.ws, w.s
    ws.write_string(0, 0, "Losses: training loss after each step, as torch recorded it", s.title)
    w.headers(2, 0, ["step", *[m.title for m in result.model_list]], [8, 14])
    longest = max(len(result.models[m].history) for m in result.models)
    for i in range(longest):
        ws.write_number(3 + i, 0, i, s())
    where = {}
    for k, model in enumerate(result.model_list):
        history = result.models[model.name].history
        for i, loss in enumerate(history):
            w.reported(3 + i, 1 + k, loss, "loss")
        where[model.name] = (1 + k, 3, 3 + len(history) - 1)
    ws.freeze_panes(3, 1)
    return where


def write_charts(w: Writer, result, history: dict, summaries: dict) -> None:
    ws, s, wb = w.ws, w.s, w.wb
    ws.write_string(0, 0, "Charts", s.title)
    loss = wb.add_chart({"type": "scatter", "subtype": "straight"})
    for model in result.model_list:
        c, r0, r1 = history[model.name]
        loss.add_series({
            "name": model.title,
            "categories": ["Losses", r0, 0, r1, 0],
            "values": ["Losses", r0, c, r1, c],
        })
    loss.set_title({"name": "Training loss by step (torch's record)"})
    longest = max(len(result.models[m].history) for m in result.models) - 1
    loss.set_x_axis({"name": "step", "min": 0, "max": longest})
    losses = [v for m in result.models for v in result.models[m].history if v > 0]
    low, high = 10 ** np.floor(np.log10(min(losses))), 10 ** np.ceil(np.log10(max(losses)))
    loss.set_y_axis({"name": "training MSE", "log_base": 10, "min": float(low), "max": float(high)})
    loss.set_size({"width": 640, "height": 360})
    ws.insert_chart(2, 0, loss)

    if result.kind == "binary":
        _calibration(w, result, summaries)
    else:
        _predicted_against_actual(w, result, summaries)


def _calibration(w: Writer, result, summaries: dict) -> None:
    """Among training rows whose prediction falls in a bin, the share that is positive."""
    ws, s, wb = w.ws, w.s, w.wb
    top = 22
    ws.write_string(top, 0, "Predictions against the truth (training rows): the share that is 1 among rows "
                            "whose prediction falls in each bin", s(None, None, bold=True))
    headers = ["from", "below", "centre"]
    for model in result.model_list:
        headers += [f"{model.title}: rows", f"{model.title}: share of 1"]
    w.headers(top + 1, 0, headers, [8, 8, 8, 12])
    n = result.n_train
    y = result.y[:n].numpy()
    rows = (FIRST_ROW, FIRST_ROW + n - 1)
    for b in range(len(EDGES) - 1):
        r = top + 2 + b
        lo, hi = EDGES[b], EDGES[b + 1]
        w.param(r, 0, lo, "feature")
        w.param(r, 1, hi, "feature")
        w.formula(r, 2, f"MAX(0,MIN(1,(A{r + 1}+B{r + 1})/2))", max(0, min(1, (lo + hi) / 2)), "feature")
        for k, model in enumerate(result.model_list):
            summary = summaries[model.name]
            preds = span(summary.pred_col, summary.pred_col, *rows, summary.sheet)
            y_range = span(summary.y_col, summary.y_col, *rows, summary.sheet)
            p = model.predict(result.X[:n], result.models[model.name].params[None])[0].numpy()
            inside = (p >= lo) & (p < hi)
            count = int(inside.sum())
            crit = f'{preds},">="&A{r + 1},{preds},"<"&B{r + 1}'
            c = 3 + 2 * k
            w.formula(r, c, f"COUNTIFS({crit})", count, "int")
            # MAX(1, rows) keeps an empty bin at 0 instead of #DIV/0!.
            w.formula(r, c + 1, f"SUMIFS({y_range},{crit})/MAX(1,{ref(c, r)})",
                      float(y[inside].sum()) / max(1, count), "acc")
    last = top + 2 + len(EDGES) - 2
    cal = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    for k, model in enumerate(result.model_list):
        c = 4 + 2 * k
        cal.add_series({"name": model.title, "categories": ["Charts", top + 2, 2, last, 2],
                        "values": ["Charts", top + 2, c, last, c]})
    cal.add_series({"name": "perfect calibration", "categories": ["Charts", top + 2, 2, last, 2],
                    "values": ["Charts", top + 2, 2, last, 2], "line": {"dash_type": "dash", "color": "#7F7F7F"},
                    "marker": {"type": "none"}})
    cal.set_title({"name": "Predicted against observed (training rows)"})
    cal.set_x_axis({"name": "prediction (bin centre)", "min": 0, "max": 1})
    cal.set_y_axis({"name": "share that is 1", "min": 0, "max": 1})
    cal.set_size({"width": 640, "height": 360})
    ws.insert_chart(top + 2, 8, cal)


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
