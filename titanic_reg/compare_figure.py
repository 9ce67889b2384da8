"""compare.png: the lesson's three questions in one picture, like its chart of image models
(accuracy against time, each point sized by the model): every model and baseline a point,
its score (validation, else training; R² for a number target) against its fit time on a
log axis, its area growing with its size in bytes (costs.py), labelled with its name.

compare_plot(result) is plain data (lists, numbers and strings), so that the background
process can draw it (background.py) as it draws loss.png; draw_compare(plot, path) draws.
"""
from __future__ import annotations

import math

R2_FLOOR = -1.0  # an R² below this (worse than a constant, many times over) is drawn at the floor
GROUPS = {"ours": ("our models (torch)", "tab:blue"), "sklearn": ("scikit-learn", "tab:orange"),
          "other": ("rules and mean images", "tab:green")}
SMALLEST, LARGEST = 30.0, 600.0  # marker areas, points², of the smallest and the largest model


def compare_plot(result) -> dict:
    """The points of compare.png and its words: each model's and baseline's name, score, fit
    seconds and size in bytes, as result.metrics has them."""
    valid = len(result.data) > result.n_train
    split = "valid" if valid else "train"
    score = "r2" if result.kind == "number" else "acc"
    points, left_out = [], []
    for name, m in result.metrics.items():
        value, seconds, size = m.get(f"{split}_{score}"), m.get("fit_seconds"), m.get("size_bytes")
        if value is None or seconds is None or size is None or seconds <= 0 or size <= 0:
            left_out.append(name)
            continue
        group = "ours" if name in result.runs else ("sklearn" if name.startswith("sklearn_") else "other")
        points.append({"name": name, "group": group, "score": float(value), "fit_seconds": float(seconds),
                       "size_bytes": int(size)})
    what = {"acc": "accuracy", "r2": "R²"}[score]
    title = result.recipe.title or result.recipe.target.column
    return {
        "points": points,
        "left_out": left_out,
        "r2": score == "r2",
        "xlabel": "fit time, seconds (log axis)",
        "ylabel": f"{'validation' if valid else 'training'} {what}",
        "title": (f"{title}: how accurate, how fast, how big ({result.n_train:,} training rows)\n"
                  "each point a model; its area: the model's size in bytes (parameters, or the pickled "
                  "scikit-learn model)"),
    }


def size_text(size_bytes: float) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.3g} {unit}"
    return f"{size_bytes:.0f} B"


def _areas(sizes: list[float]) -> list[float]:
    """Marker areas from sizes on a log scale: sizes span bytes to megabytes, and a linear
    scale would leave every small model a dot."""
    logs = [math.log10(s) for s in sizes]
    lo, hi = min(logs, default=0.0), max(logs, default=0.0)
    if hi - lo < 1e-9:
        return [(SMALLEST + LARGEST) / 4 for _ in logs]
    return [SMALLEST + (LARGEST - SMALLEST) * (v - lo) / (hi - lo) for v in logs]


def compare_figure(plot: dict):
    from . import mplconfig

    mplconfig.ensure()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    from .ticks import log_ticks, tick_label

    fig = Figure(figsize=(9, 6), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    points = plot["points"]
    xs = [p["fit_seconds"] for p in points]
    ys = [max(p["score"], R2_FLOOR) if plot["r2"] else p["score"] for p in points]
    areas = _areas([p["size_bytes"] for p in points])
    for group, (label, colour) in GROUPS.items():
        at = [i for i, p in enumerate(points) if p["group"] == group]
        if at:
            ax.scatter([xs[i] for i in at], [ys[i] for i in at], s=[areas[i] for i in at], color=colour,
                       alpha=0.6, edgecolors="black", linewidths=0.5, label=label, zorder=3)
    ax.set_xscale("log")
    ticks = log_ticks(min(xs, default=0.01), max(xs, default=1.0))
    ax.set_xlim(ticks[0] / 1.3, ticks[-1] * 1.3)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([tick_label(t) for t in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    low, high = min(ys, default=0.0), max(ys, default=1.0)
    pad = max(0.05 * (high - low), 0.01)
    ax.set_ylim(low - pad, high + 3 * pad)  # room above the top point for its label
    ax.set_xlabel(plot["xlabel"])
    floored = plot["r2"] and any(p["score"] < R2_FLOOR for p in points)
    ax.set_ylabel(plot["ylabel"] + (f" (below {R2_FLOOR:g}: drawn at {R2_FLOOR:g})" if floored else ""))
    ax.set_title(plot["title"], fontsize="medium")
    ax.grid(True, alpha=0.3)
    _label(fig, ax, [p["name"] + (f" (R² {p['score']:.3g})" if plot["r2"] and p["score"] < R2_FLOOR else "")
                     for p in points], xs, ys, areas)
    sizes = sorted(p["size_bytes"] for p in points)
    if sizes:  # the areas of the smallest, the middle and the largest model, for scale
        keys = sorted({sizes[0], sizes[len(sizes) // 2], sizes[-1]})
        key_areas = dict(zip(sizes, _areas(sizes)))
        handles, labels = ax.get_legend_handles_labels()
        for size in keys:
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=math.sqrt(key_areas[size]),
                                  markerfacecolor="lightgrey", markeredgecolor="black", markeredgewidth=0.5))
            labels.append(size_text(size))
        legend = ax.legend(handles, labels, fontsize="small", loc="best", labelspacing=1.2,
                           borderpad=0.8, framealpha=0.9)
        for handle in legend.legend_handles[:len(handles) - len(keys)]:  # the groups': colour, not size
            handle.set_sizes([60])
    if plot["left_out"]:
        fig.text(0.01, 0.005, f"not drawn (no score or no fit): {', '.join(plot['left_out'])}",
                 fontsize="small", color="grey")
    return fig


def _label(fig, ax, names, xs, ys, areas) -> None:
    """Each point's name beside it, moved up or down a line at a time until it overlaps no
    marker and no label placed before it (points fitted in about the same time with the same
    score are common: a rule of thumb and a constant, a model and its scikit-learn twin)."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()  # the axes' final place, for the labels' positions in pixels
    to_axes = ax.transData + ax.transAxes.inverted()
    markers = []
    for x, y, area in zip(xs, ys, areas):
        cx, cy = ax.transData.transform((x, y))
        r = math.sqrt(area) / 2 * fig.dpi / 72  # points to pixels
        markers.append(Bbox.from_extents(cx - r, cy - r, cx + r, cy + r))
    placed = [ax.get_legend().get_window_extent(renderer)] if ax.get_legend() is not None else []
    inside = ax.get_window_extent(renderer)
    for i in sorted(range(len(names)), key=lambda i: (-ys[i], xs[i])):
        gap = math.sqrt(areas[i]) / 2 + 3  # points: past the marker's edge
        first = -1 if to_axes.transform((xs[i], ys[i]))[0] > 0.75 else 1  # near the right edge: left first
        tries = [(side, k) for k in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5) for side in (first, -first)]
        for side, k in tries:
            text = ax.annotate(names[i], (xs[i], ys[i]), xytext=(side * gap, 11 * k),
                               textcoords="offset points", va="center", ha="left" if side > 0 else "right",
                               fontsize="small", zorder=4,
                               arrowprops=dict(arrowstyle="-", color="grey", lw=0.5) if k else None)
            text.update_positions(renderer)  # the name alone: an annotation's own extent spans its line too
            box = Text.get_window_extent(text, renderer).padded(4)  # a little air between names
            others = placed + markers[:i] + markers[i + 1:]
            free = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
                    and not any(box.overlaps(other) for other in others))
            if free:
                break
            text.remove()
        else:  # nowhere free: beside the point, overlapping
            text = ax.annotate(names[i], (xs[i], ys[i]), xytext=(first * gap, 0), textcoords="offset points",
                               va="center", ha="left" if first > 0 else "right", fontsize="small", zorder=4)
            box = text.get_window_extent(renderer)
        placed.append(box)


def draw_compare(plot: dict, path) -> None:
    """compare.png: compare_figure(plot) as a PNG (path: a file name or a binary file)."""
    compare_figure(plot).savefig(path, format="png")


def save_compare_plot(result, path) -> None:
    draw_compare(compare_plot(result), path)
