"""What a fit leaves behind: metrics.json, submission.csv, loss.png, compare.png, the workbook, the table."""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Callable

from . import __version__
from .atomic import staged
from .ticks import FLOOR, log_ticks, step_ticks, tick_label  # noqa: F401  (FLOOR: the sheets' too)
from .summary import unsigned_zero



def _strict(value):
    """JSON-ready copy: NaN and infinities become null, numpy and torch scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return _strict(value.tolist())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def metrics_json(result) -> dict:
    """Every number of the run, keyed for people and for scripts (see docs/cli.md, "Outputs")."""
    from .metrics import keys

    n_valid = len(result.data) - result.n_train
    scored = keys(result.kind)
    p = len(result.features)
    models = {}
    for name, run in result.runs.items():
        m, trained = run.scores, run.trained
        models[name] = {
            "title": m.get("title", name),
            **{k: m.get(k) for k in scored},
            **({"per_class": m["per_class"]} if "per_class" in m else {}),
            "fit_seconds": m.get("fit_seconds", trained.fit_seconds),
            "n_params": m.get("n_params", trained.params.numel()),
            "predict_ms_per_1000": m.get("predict_ms_per_1000"),
            "size_bytes": m.get("size_bytes"),
            **run.settings(),  # optimizer, epochs, lr, restarts
            "steps": len(trained.history) - 1,  # fewer than epochs where cg converged sooner
            "restarts": len(trained.restart_losses) or 1,
            "kept_restart": trained.kept,
            "params": _named(run.model, trained.params, p),
            "init": _named(run.model, trained.init, p),
            "history": list(trained.history),
            "restart_losses": list(trained.restart_losses),
            "screen": trained.screen,
            "converged": trained.converged,
        }
    if result.optimum:
        for run in result.closed_form_runs():
            entry = models[run.name]
            entry["optimum_mse"] = result.optimum.mse
            entry["optimum_gap"] = run.trained.train_mse - result.optimum.mse
            entry["optimum_params"] = result.optimum.params.tolist()
    baselines = {name: dict(b.scores) for name, b in result.baselines.items()}
    target = result.recipe.target
    return _strict({
        "version": __version__,
        "recipe": result.recipe.source,
        "target": {"column": target.column, "kind": target.kind,
                   **({"positive": target.label(result.fitted.target, True),
                       "negative": target.label(result.fitted.target, False)} if target.kind == "binary" else
                      {"classes": result.classes} if target.kind == "classes" else
                      {"min": result.fitted.target["min"], "sd": result.fitted.target["sd"], "log": target.log})},
        "rows": {
            "train": result.n_train,
            "valid": n_valid,
            "dropped": result.dropped,
            "no_target": result.no_target,
            "test": 0 if result.test is None else len(result.test),
        },
        "features": list(result.features),
        "models": models,
        "baselines": baselines,
        "stats": result.fitted.to_json(),
        "leakage": result.leakage,
        "submit_model": result.submit_model,
        "settings": settings_json(result),
    })


def settings_json(result) -> dict:
    """metrics.json's "settings": where the run came from, and how each model was trained."""
    provenance = dict(result.provenance)
    head = {k: provenance.pop(k) for k in list(provenance) if k not in ("sha256", "versions")}
    return {
        **head,
        "models": {name: run.settings() for name, run in result.runs.items()},
        **provenance,
        "submit_model": result.submit_model,
        # Run by the workbook's view, over the rows it holds (sample.py): at a million rows a
        # sample, and no run at all without a workbook.
        "descent": {"steps": result.descent_steps,
                    "lr": {name: run.descent_lr for name, run in result.runs.items() if run.descent_lr},
                    "start": "the kept start's initial parameters, as fit began"},
        "collinear": result.collinear,
    }


def metrics_text(result) -> str:
    # allow_nan=False: a NaN that slipped past _strict must fail here, not in a reader.
    return json.dumps(metrics_json(result), indent=2, allow_nan=False) + "\n"


def predictions_text(result) -> str:
    return result.submission.text(result.predictions)


def recipe_text(result) -> str:
    from .recipe import dumps

    header = (f"titanic-reg recipe: {result.recipe.source}.\n"
              "Each input column: its kind, how it becomes features, and why. Change any of it and fit again:\n"
              f"  titanic-reg fit {Path(result.train_path).name} --recipe recipe.toml")
    return dumps(result.recipe, header)


def loss_plot(result) -> dict:
    """What loss.png shows, as plain data (lists, numbers and strings): another process
    can draw it (background.py)."""
    curves = []
    for name, run in result.runs.items():
        t = run.trained
        title = run.scores.get("title", name)
        how = run.optimizer_title
        if run.config.restarts > 1:
            how += f", best of {run.config.restarts:,} starts"
        history = [float(v) for v in t.history]
        steps = len(history) - 1
        curves.append({
            "label": (f"{title}, {how}: {history[0]:.4f} \u2192 {float(t.train_mse):.4f} "
                      f"in {steps:,} step{'s' if steps != 1 else ''}"),
            "optimizer": how,
            "history": history,
        })
    return {
        "curves": curves,
        "optimum": float(result.optimum.mse) if result.optimum and result.optimum.mse is not None else None,
        "ylabel": ("training cross-entropy" if result.kind == "classes" else "training MSE")
                  + (" (target's log, scaled by its sd)" if result.recipe.target.log else
                     " (target scaled by its sd)" if result.kind == "number" else ""),
        "title": (f"Training loss by step, full batch on {result.n_train:,} rows\n"
                  "both axes logarithmic, from step 1; legend: the loss at the start (step 0) \u2192 at the end"),
    }


def loss_figure(plot: dict):
    """loss.png's figure: each model's training loss by step, steps and loss on log axes,
    with the closed-form least-squares optimum as a dashed line."""
    # The figure's own Agg canvas: no pyplot state and no GUI backend, and matplotlib
    # is only imported by runs that draw.
    from . import mplconfig

    mplconfig.ensure()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    fig = Figure(figsize=(8, 5), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # Step 0 (the start) has no place on a log axis: each curve starts at step 1, and the
    # legend gives the starting loss.
    shown, last = [], 1
    for curve in plot["curves"]:
        history = curve["history"]
        steps = range(1, len(history))
        short = len(history) <= 60  # conjugate gradient's dozen steps: a marker on each
        ax.plot(steps, history[1:], label=curve["label"], marker="o" if short else None, markersize=3)
        shown += history[1:]
        last = max(last, len(history) - 1)
    if plot["optimum"] is not None:
        ax.axhline(plot["optimum"], color="grey", linestyle="--",
                   label=f"linear optimum, closed form least squares: {plot['optimum']:.4f}")
        shown.append(plot["optimum"])
    positive = [v for v in shown if v > 0 and math.isfinite(v)]

    ax.set_xscale("log")
    ax.set_yscale("log")
    right = max(last, 2)
    x_ticks = step_ticks(right)
    ax.set_xlim(1, right)
    y_ticks = log_ticks(min(positive, default=0.1), max(positive, default=1.0))
    ax.set_ylim(y_ticks[0], y_ticks[-1])
    for axis, ticks in ((ax.xaxis, x_ticks), (ax.yaxis, y_ticks)):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FixedFormatter([tick_label(t) for t in ticks]))
        axis.set_minor_locator(NullLocator())
    ax.set_xlabel("step (log axis)")
    ax.set_ylabel(plot["ylabel"] + " (log axis)")
    ax.set_title(plot["title"])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def draw_loss(plot: dict, path) -> None:
    """loss.png: loss_figure(plot) as a PNG (path: a file name or a binary file)."""
    loss_figure(plot).savefig(path, format="png")


def save_loss_plot(result, path) -> None:
    draw_loss(loss_plot(result), path)


def save_compare_plot(result, path) -> None:
    from .compare_figure import save_compare_plot

    save_compare_plot(result, path)


def data_name(path) -> str:
    """An inferred recipe's name, and so its workbook's: the data file's stem in letters,
    digits, '_', '.' and '-' (penguins.csv -> penguins.xlsx)."""
    import re

    from .limits import MAX_NAME

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem)[:MAX_NAME].strip("._-") or "data"


def planned_outputs(train, recipe_path, target) -> tuple[str, str]:
    """(the predictions file's name, the workbook's name), known before anything heavy is loaded:
    the recipe file's own, the data's stem for an inferred recipe, the lesson's (recipes/titanic.toml)
    otherwise."""
    import tomllib
    from importlib import resources

    from .submissions import PREDICTIONS, SUBMISSIONS

    def named(text: str) -> tuple[str, str]:
        doc = tomllib.loads(text)
        name = doc.get("name") if isinstance(doc.get("name"), str) else "data"
        return SUBMISSIONS.get(doc.get("submission"), PREDICTIONS).file, f"{name}.xlsx"

    if recipe_path:
        if not Path(recipe_path).is_file():  # a pipe would block here; its own error comes later
            return PREDICTIONS.file, "data.xlsx"
        try:
            return named(Path(recipe_path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return PREDICTIONS.file, "data.xlsx"  # the recipe's own error comes later, in one line
    if target:
        return PREDICTIONS.file, f"{data_name(train)}.xlsx"
    return named(resources.files(__package__).joinpath("recipes/titanic.toml").read_text(encoding="utf-8"))


def outputs(predictions: str, workbook: str | None) -> tuple[str, ...]:
    """The names of a run's outputs: metrics.json, the predictions file (the submission's:
    submissions.py), loss.png, compare.png, recipe.toml, the workbook."""
    return ("metrics.json", predictions, "loss.png", "compare.png", "recipe.toml", *((workbook,) if workbook else ()))


def out_problem(out_dir, names) -> str | None:
    """Why the outputs cannot go to out_dir, or None; checked before any training.

    A file where the folder (or one of its parents) should be, a folder where an
    output file should be, or a folder this process may not write to.
    """
    out = Path(out_dir)
    if out.is_dir():
        for name in names:
            if (out / name).is_dir():
                return f"{out / name} is a folder, where the output file {name} goes"
        why = _cannot_create_in(out)
        return f"{out} is not writable ({why})" if why else None
    for parent in (out, *out.parents):
        if parent.is_dir():
            why = _cannot_create_in(parent)
            return f"cannot create {out}: {parent} is not writable ({why})" if why else None
        if parent.exists() or parent.is_symlink():
            what = "a file" if parent.is_file() else ("a broken link" if parent.is_symlink() else "not a folder")
            return f"{out} is a file, not a folder" if parent == out else f"cannot create {out}: {parent} is {what}"
    return None


def _cannot_create_in(folder: Path) -> str | None:
    """Why no file can be created in folder, or None: tried, not guessed (root ignores modes,
    a read-only file system does not)."""
    try:
        with tempfile.TemporaryFile(dir=folder):  # nameless where the OS allows, else removed at once
            pass
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return None


def input_in_the_way(out_dir, names, inputs) -> str | None:
    """Why an output would overwrite one of the run's own inputs, or None; checked before any
    training. inputs: (what it is, its path or None). The same file by any name counts: the
    same path, a link to it, a hard link (the same device and inode)."""
    out = Path(out_dir)
    for name in names:
        try:
            there = os.stat(out / name)
        except OSError:  # nothing there (or nothing readable): nothing to overwrite
            continue
        for what, path in inputs:
            try:
                same = path is not None and os.path.samestat(there, os.stat(path))
            except OSError:
                continue
            if same:
                return (f"{out / name} is {what}, which this run reads; the output {name} would replace it: "
                        "choose another folder, or move the file")
    return None


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """The outputs of a run are a set: runs writing into one folder at once take turns, each
    writing and renaming all its files while it holds an exclusive lock on the folder itself
    (no lock file to leave behind). Where folders cannot be locked, runs go on unlocked."""
    try:
        import fcntl
        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):  # pragma: no cover - no flock here
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - a file system without locks
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def write_outputs(result, out_dir, workbook_writer: Callable | None = None,
                  loss_png: Callable | None = None, compare_png: Callable | None = None) -> list[Path]:
    """Write every output into out_dir; all files replace their old versions together or not at all.

    `loss_png(path)` and `compare_png(path)`, if given, write loss.png and compare.png (the
    command's background process draws them while the workbook is written); else they are
    drawn here. A folder this call creates is
    removed again if the writing fails (or is interrupted).
    """
    out = Path(out_dir)
    new = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        names = outputs(result.submission.file, result.recipe.workbook_name)
        with _folder_lock(out), staged() as stage:
            paths = [stage.text(out / "metrics.json", metrics_text(result))]
            if result.predictions is not None:
                paths.append(stage.text(out / names[1], predictions_text(result)))
            paths.append(stage.text(out / "recipe.toml", recipe_text(result)))
            if workbook_writer is not None:
                paths.append(stage.file(out / names[-1], lambda tmp: workbook_writer(result, tmp)))
            at = 2 if result.predictions is not None else 1
            paths.insert(at, stage.file(out / "loss.png", loss_png or (lambda tmp: save_loss_plot(result, tmp))))
            paths.insert(at + 1, stage.file(out / "compare.png",
                                            compare_png or (lambda tmp: save_compare_plot(result, tmp))))
    except BaseException:
        for folder in new:  # deepest first; only if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return paths


def _num(value, kind: str = "binary") -> str:
    if value is None:
        return "–"
    if kind != "number" or abs(value) < 1:
        return unsigned_zero(f"{value:.4f}" if kind != "number" else f"{value:.3f}")
    if abs(value) < 1e4 and "e" not in f"{value:.4g}":  # 9999.7 is 10k, not 1e+04
        return f"{value:.4g}"
    value = float(f"{value:.3g}")  # rounded first, so that 999.96k is 1M, not 1e+03k
    if not math.isfinite(value) or abs(value) >= 1e15:  # past T: 6.05e15, as short as 6.05T
        return f"{value:.2e}".replace("e+", "e")
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):  # a target's squared units
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"


def table(result, api: bool = False):
    """The run at a glance, our models first, then the baselines: how accurate (the scores),
    then how fast and how big (a second table: one that held both would not fit 80 columns)."""
    from rich.console import Group
    from rich.text import Text

    # The notes under both, as wide as the console: a table's caption wraps at the table's width.
    per_class = [_classes_table(result)] if result.kind == "classes" else []
    return Group(_scores_table(result), *per_class, _costs_table(result), Text("\n".join(caption(result, api))))


def _rich_table(**kw):
    from rich import box
    from rich.table import Table

    # Short names and no inner rules: the tables fit the 80 columns of a log file.
    return Table(box=box.SIMPLE_HEAD, caption_justify="left", title_justify="left", pad_edge=False,
                 collapse_padding=True, **kw)


def _scores_table(result):
    from .metrics import SCORES, TITLES

    valid = len(result.data) > result.n_train
    title = result.recipe.title or result.recipe.target.column
    t = _rich_table(title=f"{title}, {result.n_train:,} training rows"
                          + (f", {len(result.data) - result.n_train:,} validation rows" if valid else ""))
    t.add_column("model", no_wrap=True)
    shown = [f"{split}_{s}" for s in SCORES[result.kind] for split in ("train", "valid")]
    for key in shown:
        split, score = key.split("_", 1)
        t.add_column(f"{split} {TITLES[score] if score != 'acc' else 'acc'}", justify="right", min_width=6,
                     max_width=6 if result.kind == "number" else None)
    metrics = result.metrics
    ours = list(result.runs)
    for name in ours + list(result.baselines):
        m = metrics[name]
        t.add_row(_label(result, name), *[_num(m.get(key), result.kind) for key in shown],
                  end_section=name == ours[-1] if ours else False)
    return t


SHOWN_CLASSES = 10  # columns of the per-class table: the digits' 10 fit in 80 columns; metrics.json has them all


def _classes_table(result):
    """A K-class target's counts per class: of the rows of each class, how many each model got right."""
    split = "valid" if len(result.data) > result.n_train else "train"
    names = result.classes
    more = len(names) - SHOWN_CLASSES
    t = _rich_table(title=f"Per class: right / {'validation' if split == 'valid' else 'training'} rows"
                          + (f" (the first {SHOWN_CLASSES}; all {len(names)} in metrics.json)" if more > 0 else ""))
    t.add_column("model", no_wrap=True)
    metrics = result.metrics
    ours = list(result.runs)
    rows = metrics[ours[0]]["per_class"][split]  # the same rows for every model
    for name in names[:SHOWN_CLASSES]:  # the class, and its rows under it: each cell is one count
        t.add_column(f"{name}\n/{rows[name]['rows']}", justify="right", overflow="fold")
    for model in ours + list(result.baselines):
        counts = metrics[model].get("per_class", {}).get(split)
        if counts is None:  # a baseline that could not be fitted
            continue
        t.add_row(_label(result, model), *[f"{counts[n]['correct']}" for n in names[:SHOWN_CLASSES]],
                  end_section=model == ours[-1])
    return t


def _costs_table(result):
    t = _rich_table(title="How fast and how big")
    t.add_column("model", no_wrap=True)
    for head in ("params", "size KB", "fit ms", "predict ms\nper 1k rows"):
        t.add_column(head, justify="right", min_width=6)
    metrics = result.metrics
    ours = list(result.runs)
    for name in ours + list(result.baselines):
        m = metrics[name]
        t.add_row(
            _label(result, name),
            params_text(m),
            "–" if m.get("size_bytes") is None else _kb(m["size_bytes"]),
            f"{1000 * m['fit_seconds']:,.0f}" if m.get("fit_seconds") is not None else "–",
            "–" if m.get("predict_ms_per_1000") is None else _ms(m["predict_ms_per_1000"]),
            end_section=name == ours[-1] if ours else False,
        )
    return t


def _label(result, name: str) -> str:
    label = name + (" *" if name == result.submit_model else "")
    return f"[bold]{label}[/bold]" if name in result.runs else label


def params_text(m: dict) -> str:
    """A row's parameter count; a fitted model without one is trees (scikit-learn's boosting)."""
    if m.get("n_params") is not None:
        return f"{m['n_params']:,}"
    return "–" if m.get("error") else "trees"


def _kb(size_bytes: int) -> str:
    kb = size_bytes / 1000
    return f"{kb:.2f}" if kb < 10 else (f"{kb:.1f}" if kb < 100 else f"{kb:,.0f}")


def _ms(ms: float) -> str:
    """About three significant figures, at most four decimals."""
    if ms <= 0:
        return "0"
    return f"{ms:,.{min(4, max(0, 2 - math.floor(math.log10(ms))))}f}"


def caption(result, api: bool = False) -> list[str]:
    """The notes under the comparison, a line each."""
    from .costs import REPEATS, TIMING_ROWS

    metrics = result.metrics
    lines = []
    for run in result.closed_form_runs() if result.optimum else ():
        gd, best = run.trained.train_mse, result.optimum.mse
        units = " (target scaled by its sd)" if result.kind == "number" else ""
        if result.recipe.target.log:
            units = " (the target's log10(value + 1), scaled by its sd)"
        lines.append(f"{run.name}, {run.optimizer_title} vs closed-form optimum{units}: {gd:.9f} vs {best:.9f} "
                     f"(gap {gd - best:.1e})")
    for name, m in metrics.items():
        if m.get("fit_rows") is not None and m["fit_rows"] < result.n_train:
            lines.append(f"{name} was fitted on a seeded sample of {m['fit_rows']:,} of the "
                         f"{result.n_train:,} training rows, and scored on all of them")
        if m.get("min_samples_leaf") is not None:
            lines.append(f"{name}: leaves of at least {m['min_samples_leaf']:,} rows, a tenth of the "
                         f"{m['fit_rows']:,} it was fitted on (scikit-learn's 20 would leave its trees unsplit)")
    if result.kind == "binary":
        target = result.recipe.target
        lines.append(f"target: {target.describe(result.fitted.target)}; accuracy at 0.5\n"
                     "score > 0.5 predicts 1; scores are not probabilities and may leave 0 to 1")
    elif result.kind == "classes":
        lines.append(f"target: {result.recipe.target.describe(result.fitted.target)}\n"
                     "accuracy: the class of the largest probability; CE, cross-entropy: -ln(p of the true class), "
                     "averaged (a baseline's p of 0 counts as 2.2e-16, as scikit-learn's log_loss clips it)")
    else:
        lines.append(f"target: {result.recipe.target.column}, a number: MSE and RMSE in its units"
                     + (" (learned as log10(value + 1), every fitted baseline too; predictions back as 10^(...) - 1)"
                        if result.recipe.target.log else ""))
    timed = min(len(result.data), TIMING_ROWS)
    lines.append(f"size: parameters as float64, scikit-learn's models pickled (KB: 1,000 bytes); predict: "
                 f"the median of {REPEATS} predictions of {timed:,} rows (times vary from run to run)")
    written = result.submission.file
    if api:  # from Python nothing is written until save(): say what the star means there
        lines.append(f"* the model predict() uses (save() writes its {written}"
                     + (f" for the {len(result.predictions):,} test rows)" if result.predictions is not None
                        else ")"))
    elif result.predictions is not None:
        lines.append(f"* predicts {written} ({len(result.predictions):,} test rows)")
    return lines


def _named(model, flat, n_features: int) -> dict:
    """A start's flat parameters as {tensor name: rows of values} (Model.unpack)."""
    return {k: v[0].tolist() for k, v in model.unpack(flat[None], n_features).items()}
