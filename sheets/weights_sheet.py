"""Weights: what a one-unit model learned about each pixel, drawn as the image it reads.

A model whose first layer is one unit over the features (linear, logistic) has a weight per
pixel: laid out in the image's shape, each cell INDEX(<its Params name>,1,k), coloured blue
below 0, white at 0, red above, so the strokes that push towards each class show.
"""
from __future__ import annotations

from titanic_reg import pixels

from .digits_sheet import HIDDEN, PIXEL_POINTS, draw, merged, pixel_width
from .layout import Writer

SHEET = "Weights"
DIVERGING = ("#2F5597", "#FFFFFF", "#C00000")  # below 0, 0, above 0


def weighted_runs(result) -> list:
    """The runs whose first parameter tensor is one unit reading every feature."""
    p = len(result.features)
    found = []
    for run in result.runs.values():
        first = run.model.tensors(p)[0]
        if first.rows == 1 and first.cols == p and not first.bias:
            found.append(run)
    return found


def wanted(result) -> bool:
    return pixels.first_block(result.recipe) is not None and bool(weighted_runs(result))


def write_weights(w: Writer, result) -> None:
    ws, s = w.ws, w.s
    image = pixels.first_block(result.recipe)
    shape, p = image.shape, len(result.features)
    at = image.features(result.fitted)
    runs = weighted_runs(result)
    step = max(shape[1], 3) + 1
    w.text(0, 0, f"{SHEET}: each pixel's weight, in the image's shape ({shape[0]} x {shape[1]})", s.title)
    w.text(1, 0, "Each cell is INDEX(weights,1,k) of the model's weights on the Params sheet (k: the pixel's "
                 "feature): change a weight there and it changes here. Blue pushes towards "
                 f"{_label(result, False)}, red towards {_label(result, True)}; white is 0; a model's colours "
                 "reach their ends at the 95th percentile of its weights' sizes (larger ones are as dark).", s.note)
    w.text(2, 0, "Weights of features that are no pixel (Ones, the intercept) are on the Params sheet only.", s.note)
    ws.set_column(0, len(runs) * step - 1, pixel_width(shape))
    bold = s(None, None, bold=True)
    px = s(None, None, num_format=HIDDEN)
    for j, run in enumerate(runs):
        left, tensor = j * step, run.model.tensors(p)[0]
        values = run.model.unpack(run.params, p)[tensor.name].numpy()[0]
        merged(w, 4, left, left + step - 2, bold)
        w.text(4, left, f"{run.name}: {tensor.name}", bold)
        ws.set_row(4, PIXEL_POINTS)
        weights = values[at]
        block = draw(w, 5, left, shape, [f"INDEX({tensor.name},1,{k + 1})" for k in at], weights, px)
        top = pixels.colour_limit(weights)
        ws.conditional_format(block, {"type": "3_color_scale",
                                      "min_type": "num", "min_value": -top, "min_color": DIVERGING[0],
                                      "mid_type": "num", "mid_value": 0, "mid_color": DIVERGING[1],
                                      "max_type": "num", "max_value": top, "max_color": DIVERGING[2]})
    ws.freeze_panes(5, 0)


def _label(result, positive: bool) -> str:
    if result.kind != "binary":
        return "lower" if not positive else "higher"
    return result.recipe.target.label(result.fitted.target, positive)
