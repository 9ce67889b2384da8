"""Digits: a table with an image draws its images, fastbook chapter 4's way.

A few images as blocks of cells (the image's shape), each cell a formula reading the Data
sheet's raw pixel, shaded white to black by a colour scale; the mean image of each class by
AVERAGEIFS over the training rows the workbook holds; each image's L1 and L2 distance to
each mean and the class pixel similarity gives it; each model's score and class. For K
classes, one mean image per class (AVERAGEIFS over the class's one-hot column), each image's
distance to each of them, the nearest by INDEX/MATCH of the smallest, and each model's
class and its probability. Cached values are numpy's and torch's (titanic_reg/pixels.py
computes the means and distances).
"""
from __future__ import annotations

import numpy as np
import torch

from titanic_reg import pixels
from titanic_reg.sample import CELL_BUDGET

from .data_sheet import Block
from .layout import FIRST_ROW, Writer, ref, row_span, span, xml_safe

SHEET = "Digits"
PER_CLASS = 6
PIXEL_WIDTH = 2.14  # characters: 20 pixels in Excel (Calibri 11), as tall as a row of 15 points: square
PIXEL_POINTS = 15
LABEL_CHARS = 30  # a label row needs about this many characters across an image
HIDDEN = ";;;"  # a number format that shows nothing: the colour is the picture
GREYS = ("#FFFFFF", "#000000")  # 0 (background) white, the scale (ink) black


def wanted(result) -> bool:
    return pixels.first_block(result.recipe) is not None


def pixel_width(shape) -> float:
    """Column width for an image `shape[1]` pixels wide: narrow, yet wide enough for its labels."""
    return max(PIXEL_WIDTH, round(LABEL_CHARS / shape[1], 2))


def draw(w: Writer, top: int, left: int, shape, formulas, values, fmt) -> str:
    """One image as a block of cells (row-major); returns the block's range on this sheet."""
    rows, cols = shape
    for k, (text, value) in enumerate(zip(formulas, values)):
        w.ws.write_formula(top + k // cols, left + k % cols, "=" + text, fmt, float(value))
    for r in range(top, top + rows):
        w.ws.set_row(r, PIXEL_POINTS)
    return span(left, left + cols - 1, top, top + rows - 1)


def greys(w: Writer, block: str, scale: float) -> None:
    w.ws.conditional_format(block, {"type": "2_color_scale", "min_type": "num", "min_value": 0,
                                    "min_color": GREYS[0], "max_type": "num", "max_value": scale,
                                    "max_color": GREYS[1]})


def merged(w: Writer, r: int, c0: int, c1: int, fmt) -> None:
    """Cells c0..c1 of row r as one, for a label or a number wider than a pixel's column."""
    if c1 > c0:
        w.ws.merge_range(r, c0, r, c1, "", fmt)


def parts(left: int, width: int) -> list[tuple[int, int]]:
    """A label row across an image: a name (two fifths) and two values."""
    width = max(width, 3)
    a = max(1, round(width * 0.4))
    b = a + (width - a) // 2
    return [(left, left + a - 1), (left + a, left + b - 1), (left + b, left + width - 1)]


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_digits(w: Writer, result, data: Block, summaries: dict) -> None:
    ws, s = w.ws, w.s
    image = pixels.first_block(result.recipe)
    shape, scale, n_px = image.shape, image.scale, len(image.columns)
    height, width = shape
    binary = result.kind == "binary"
    classes = _classes(result)
    n, n_train = len(result.data), result.n_train
    raw = np.column_stack([np.asarray(result.data.columns[c], dtype=np.float64) for c in image.columns])
    y = result.y.numpy()
    # For many classes fewer images of each: about two dozen in all, at least one of each.
    per_class = PER_CLASS if classes is None else max(1, min(PER_CLASS, 24 // len(classes)))
    groups = pixels.shown_rows(y, n_train, per_class, binary, classes)
    labels = ([result.recipe.target.label(result.fitted.target, bool(c)) for c in pixels.CLASSES] if binary
              else list(result.classes) if classes is not None else [])
    px = s(None, None, num_format=HIDDEN)
    sheet = _Sheet(w, result, data, summaries, image, raw, labels, px)

    w.text(0, 0, f"{SHEET}: the images, drawn by formula from the Data sheet's raw pixels "
                 f"({height} x {width}, 0 white to {scale:g} black)", s.title)
    shown = (", ".join(f"the first {len(g)} {labels[k]}s" for k, g in enumerate(groups)) if binary
             else f"the first {per_class} of each class" if classes is not None
             else f"the first {sum(map(len, groups))} rows")
    w.text(1, 0, f"Shown: {shown} among the validation rows the workbook holds (then its training rows, if too "
                 "few). Each pixel is =Data!cell: change a pixel there and its image here redraws.", s.note)
    w.text(3, 0, f"Cell budget: the Data sheet holds {n:,} rows x {n_px:,} pixels, raw and as features: "
                 f"{n * 2 * n_px:,} cells (by default at most {CELL_BUDGET:,}: --sheet-rows sets the rows).", s.note)
    ws.set_column(0, sheet.left(max(per_class, len(sheet.classes))) - 1, pixel_width(shape))
    r = 5
    if binary or classes is not None:
        r = sheet.means(r)
    for group in groups:
        for j, i in enumerate(group):
            end = sheet.image(i, r, sheet.left(j))
        r = (end if group else r) + 1
    ws.freeze_panes(5, 0)


def _classes(result):
    """A K-class target's classes as y holds them (0 to K-1), else None."""
    return None if result.kind != "classes" else [float(k) for k in range(len(result.classes))]


class _Sheet:
    """The Digits sheet being written: where the images go and what their labels read."""

    def __init__(self, w, result, data, summaries, image, raw, labels, px):
        self.w, self.result, self.data, self.summaries = w, result, data, summaries
        self.pixels, self.raw, self.labels, self.px = image, raw, labels, px
        self.width = max(image.shape[1], 3)  # a label row needs three cells
        self.mean_blocks = self.mean_values = None
        self.classes = _classes(result) or pixels.CLASSES
        # What each model's sheet caches as its prediction (K classes: its probabilities), row by row.
        self.preds = {name: run.layers(result.X)[-1] for name, run in result.runs.items()}
        if result.kind != "classes":
            self.preds = {name: pred[:, 0] for name, pred in self.preds.items()}

    def left(self, j: int) -> int:
        return j * (self.width + 1)  # an empty column between images

    def means(self, r: int) -> int:
        """The mean image of each class over the training rows held, by AVERAGEIFS; returns the next row."""
        w, s, result, data, image = self.w, self.w.s, self.result, self.data, self.pixels
        n_train = result.n_train
        train_y = result.y.numpy()[:n_train]
        held = [int((train_y == c).sum()) for c in self.classes]
        rows = (FIRST_ROW, FIRST_ROW + n_train - 1)
        whose = "whose y is the class" if result.kind != "classes" else "whose one-hot y is 1 for the class"
        w.text(2, 0, "Mean images: each pixel is AVERAGEIFS of its raw column over the training rows the workbook "
                     f"holds (Data rows {rows[0] + 1}-{rows[1] + 1}) {whose}. Distances are in the "
                     f"features' units (pixel / {image.scale:g}), as the chapter's, to these means (the pixel_l1 "
                     "and pixel_l2 baselines' means are over every training row).", s.note)
        if not all(held):
            missing = [self.labels[k] for k, h in enumerate(held) if not h]
            w.text(r, 0, f"No mean images: the workbook holds no training row of class {', '.join(missing)}.", s.note)
            return r + 2
        self.mean_values = pixels.class_means(self.raw[:n_train], train_y, self.classes)
        self.mean_blocks = []
        for k, c in enumerate(self.classes):
            left = self.left(k)
            bold = s(None, None, bold=True)
            merged(w, r, left, left + self.width - 1, bold)
            w.text(r, left, f"mean {self.labels[k]}: {held[k]:,} training rows", bold)
            if result.kind == "classes":  # the class's own one-hot column is 1
                y_range, c = data.range_of(data.y + k, *rows, data.sheet), 1
            else:
                y_range = data.range_of(data.y, *rows, data.sheet)
            formulas = [f"AVERAGEIFS({data.column(column, *rows, data.sheet)},{y_range},{c:g})"
                        for column in image.columns]
            block = draw(w, r + 1, left, image.shape, formulas, self.mean_values[k], self.px)
            greys(w, block, image.scale)
            self.mean_blocks.append(block)
        return r + 1 + image.shape[0] + 1

    def image(self, i: int, top: int, left: int) -> int:
        """Row i's image with its labels above it; returns the row after it."""
        w, s, result, data, image, labels = self.w, self.w.s, self.result, self.data, self.pixels, self.labels
        shape, scale = image.shape, image.scale
        a, b, c = parts(left, self.width)
        row = FIRST_ROW + i
        key = (result.data.id if result.recipe.id else result.data.row)[i]
        truth = result.data.target[i]
        split = "training" if i < result.n_train else "validation"
        binary = result.kind == "binary"

        def label(r, name, *cells, wide=False):
            """A label row: its name, then two values side by side, or one across the rest (or, `wide`,
            across the last third)."""
            bold = s(None, None, bold=True)
            merged(w, r, a[0], b[1] if wide else a[1], bold)
            w.text(r, a[0], name, bold)
            places = (b, c) if len(cells) == 2 else (c,) if wide else ((b[0], c[1]),)
            for (c0, c1), (text, value, number, array) in zip(places, cells):
                fmt = s("formula", number, align="center")
                merged(w, r, c0, c1, fmt)
                cached = xml_safe(value, f"{SHEET}!{ref(c0, r, fix_col=False)}") if isinstance(value, str) else value
                if array:  # outside an array formula Gnumeric reads ABS(range) as one cell of the range
                    w.ws.write_array_formula(r, c0, r, c0, "{=" + text + "}", fmt, cached)
                else:
                    w.ws.write_formula(r, c0, "=" + text, fmt, cached)

        r = top
        heading = f"row {_plain(key)} ({split}), {result.recipe.target.column}"
        truth = _plain(truth)
        whole = isinstance(truth, str) or float(truth).is_integer()
        label(r, heading, (ref(data.target, row, data.sheet), truth, None if whole else "pred", False), wide=True)
        r += 1
        for name, run in result.runs.items():
            summary, pred = self.summaries[name], self.preds[name][i]
            at = ref(summary.pred_col, row, summary.sheet)
            if result.kind == "classes":  # the class it predicts, and the probability it gives that class
                probs = self.preds[name][i]
                said = int(run.model.output.decide(torch.tensor(probs[None], dtype=torch.float64))[0])
                top = row_span(summary.first_prob, summary.pred_col, row, summary.sheet)
                label(r, f"{name} says", (ref(summary.label_col, row, summary.sheet), _plain(self._class(said)),
                                          None, False), (f"MAX({top})", float(probs.max()), "pred", False))
            elif binary:
                said = int(float(run.model.output.decide(torch.tensor(pred, dtype=torch.float64))))
                text = f"IF({run.model.output.decide_excel(at)}=1,{quoted(labels[1])},{quoted(labels[0])})"
                label(r, f"{name} says", (at, pred, "pred", False), (text, labels[said], None, False))
            else:
                out = float(result.output(torch.tensor([pred], dtype=torch.float64))[0])
                label(r, f"{name} says", (ref(summary.output_col, row, summary.sheet), out, "pred", False))
            r += 1
        rows_above = 0 if not self.mean_blocks else len(self.classes) + 1 if result.kind == "classes" else 3
        block_top = r + rows_above
        block = span(left, left + shape[1] - 1, block_top, block_top + shape[0] - 1)
        if self.mean_blocks and result.kind == "classes":
            r = self.distances(i, r, block, (b, c), label)
        elif self.mean_blocks:
            mine, means = self.raw[i:i + 1] / scale, self.mean_values / scale
            n = len(image.columns)
            forms = {"l1": "SUMPRODUCT(ABS({d}))/{n}/{s}", "l2": "SQRT(SUMPRODUCT(({d})^2)/{n})/{s}"}
            for kind, form in forms.items():
                label(r, f"{kind.upper()} to {labels[0]}, {labels[1]}",
                      *[(form.format(d=f"{block}-{self.mean_blocks[k]}", n=n, s=f"{scale:g}"),
                         float(pixels.distance(mine, means[k], kind)[0]), "feature", True) for k in range(2)])
                r += 1
            says = []
            for kind, at in (("l1", r - 2), ("l2", r - 1)):
                text = f"IF({ref(c[0], at)}<{ref(b[0], at)},{quoted(labels[1])},{quoted(labels[0])})"
                says.append((text, labels[int(pixels.nearer(mine, means, kind)[0])], None, False))
            label(r, "nearer mean: L1, L2", *says)
            r += 1
        formulas = [ref(data.col[column], row, data.sheet) for column in image.columns]
        greys(w, draw(w, r, left, shape, formulas, self.raw[i], self.px), scale)
        return r + shape[0]

    def _class(self, k: int):
        """Class k as the Data sheet's row of classes holds it (a number stays a number)."""
        value = self.result.fitted.target["classes"][k]
        return float(value) if self.result.recipe.target.numeric else str(value)

    def distances(self, i: int, r: int, block: str, places, label) -> int:
        """K classes: row i's image's L1 and L2 distance to each class's mean image, a row per class,
        then the nearest mean's class by each (INDEX/MATCH of the smallest); returns the next row."""
        image, scale = self.pixels, self.pixels.scale
        mine, means = self.raw[i:i + 1] / scale, self.mean_values / scale
        first = r
        for k in range(len(self.classes)):
            forms = _forms(block, self.mean_blocks[k], len(image.columns), scale)
            label(r, f"L1, L2 to {self.labels[k]}",
                  *[(forms[kind], float(pixels.distance(mine, means[k], kind)[0]), "feature", True)
                    for kind in ("l1", "l2")])
            r += 1
        says = []
        for c0, _ in places:
            kind = "l1" if c0 == places[0][0] else "l2"
            found = span(c0, c0, first, r - 1)
            text = f"INDEX({self.data.classes},1,MATCH(MIN({found}),{found},0))"
            says.append((text, self._class(int(pixels.nearest(mine, means, kind)[0])), None, False))
        label(r, "nearest mean: L1, L2", *says)
        return r + 1


def _forms(block: str, mean: str, n: int, scale: float) -> dict:
    """An image's L1 and L2 distance to a mean image, in the features' units, by formula."""
    d = f"{block}-{mean}"
    return {"l1": f"SUMPRODUCT(ABS({d}))/{n}/{scale:g}", "l2": f"SQRT(SUMPRODUCT(({d})^2)/{n})/{scale:g}"}


def _plain(value):
    """A numpy scalar as Python's own (a key or a class as the Data sheet holds it)."""
    return value.item() if hasattr(value, "item") else value
