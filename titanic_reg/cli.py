"""`titanic-reg`: fit the lesson's models, write the outputs, verify a workbook.

Kept thin: the work lives in titanic_reg and sheets, how the process meets signals
and ends in titanic_reg.process. torch, pandas and rich are imported inside the
commands so that `titanic-reg --help` answers at once; the limits and the model
registry it shows import neither.
"""
from __future__ import annotations

import contextlib
import functools
import math
import sys
from pathlib import Path

import click

from titanic_reg import __version__, process
from titanic_reg.errors import printable
from titanic_reg.limits import (
    BASELINE_CHOICES,
    LESSON_DIVERGES,
    LESSON_LR,
    LESSON_LR_LIMIT,
    LESSON_MAX_STEPS,
    LESSON_START,
    LESSON_START_LIMIT,
    LESSON_STEPS_LIMIT,
    MAX_DESCENT_STEPS,
    MAX_EPOCHS,
    VERIFY_TIMEOUT,
    MAX_RESTARTS,
    MAX_SEED,
    MAX_SHEET_CELLS,
    OPTIMIZER_CHOICES,
    SHEET_ROWS,
)
from titanic_reg.losses import LOSSES
from titanic_reg.models import DEFAULT_MODELS, choices, get

LOSS_CHOICES = tuple(LOSSES)

EXIT_ERROR, EXIT_NO_ENGINE = 1, 3  # and 128 + the signal that stopped a run: process.exit_interrupted()


def _fail(message, code=EXIT_ERROR):
    # One line, whatever the message holds: scripts grep it, people read it; control
    # characters escaped, so that a name from the user's file cannot drive the terminal.
    click.echo(f"error: {' '.join(printable(message).split())}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _user_errors():
    """Turn the errors a user can fix into one line and an exit code; bugs keep their traceback."""
    from titanic_reg.sheets.recalc import NoEngine, RecalcError
    from titanic_reg.sheets.verify import VerifyError
    from titanic_reg.errors import InputError, OptionError, TrainingError, speaking_cli

    try:
        with speaking_cli():
            yield
    except OptionError as exc:  # an option this data or recipe cannot take: a usage error
        process.stop_if_interrupted()
        raise click.BadParameter(printable(exc.problem), param_hint=printable(exc.option)) from None
    except NoEngine as exc:
        _fail(exc, EXIT_NO_ENGINE)
    except (InputError, TrainingError, VerifyError, RecalcError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        # Before click turns it into "Aborted!" with exit 1.
        process.exit_interrupted()
    except Exception:
        if not process.interrupted():
            raise
        # A library caught the KeyboardInterrupt and raised an error of its own
        # (matplotlib's renderer raises "Invalid bounding box"): it is still a Ctrl-C.
        process.exit_interrupted()


@contextlib.contextmanager
def _warnings_as_lines():
    """Every warning as one `warning: ...` line on stderr, each shown once.

    titanic_reg's own (InputWarning: what was done to the input) are always
    shown, whatever -W or PYTHONWARNINGS say; a library's keeps its filters and
    gets its category and origin in front.
    """
    import warnings

    from titanic_reg.errors import InputWarning

    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(printable(message).split())
        if not issubclass(category, InputWarning):
            text = f"{category.__name__} from {Path(filename).name}:{lineno}: {text}"
        if text not in shown:
            shown.add(text)
            click.echo(f"warning: {text}", err=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        warnings.filterwarnings("always", category=InputWarning)
        yield


def _defaults(key, descent_only=False):
    """The default models' own `key` ("name value, ..."), from the registry, for the help;
    descent_only: without the models conjugate gradient trains, which ignore it."""
    found = [get(name) for name in DEFAULT_MODELS]
    return ", ".join(f"{m.name} {m.defaults[key]:,}" for m in found
                     if not (descent_only and m.defaults["optimizer"] == "cg"))


def _positive_finite(ctx, param, value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a finite number above 0")
    return value


def _start(ctx, param, value):
    if not all(math.isfinite(v) and abs(v) <= LESSON_START_LIMIT for v in value):
        raise click.BadParameter(f"{' '.join(f'{v:g}' for v in value)}: a, b and c must be finite numbers "
                                 f"from -{LESSON_START_LIMIT:g} to {LESSON_START_LIMIT:g}")
    return value


def _fraction(ctx, param, value):
    if not (math.isfinite(value) and 0 <= value < 1):
        raise click.BadParameter(f"{value} is not in [0, 1)")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="titanic-reg")
def main():
    """The fast.ai lesson-3 models, fitted by gradient descent in torch and written
    out as a live Excel workbook: on Kaggle's Titanic data with the lesson's recipe,
    or on any CSV with --target."""
    # Ctrl-C, SIGTERM and SIGHUP end a run alike: temporary files removed, LibreOffice
    # stopped, the old outputs left, exit 128 + the signal.
    process.handle_signals()


def _data_options(f, target_required=False):
    """Options shared by `fit` and `recipe`: which column, which class, which rows."""
    # `recipe` has no lesson's recipe to fall back on: its --target is required, and says so.
    target_help = ("The column to predict (required); the recipe is inferred from the other columns."
                   if target_required else
                   "The column to predict; the recipe is inferred from the data (see `recipe`).  "
                   "[default: Survived, with the lesson's recipe, for Kaggle's Titanic columns]")
    for option in reversed((
        click.option("--target", metavar="COLUMN", default=None, help=target_help),
        click.option("--positive", metavar="VALUE", default=None,
                     help="The class predicted as 1 (binary target), or the one class against the rest of "
                          "several.  [default: 1, yes, true, ... or the rarer of two classes]"),
        click.option("--missing", type=click.Choice(["drop", "fill"]), default=None,
                     help="Training rows with a missing input: drop them, or fill them from the training "
                          "rows.  [default: the recipe's: drop for the lesson's, fill for an inferred one]"),
        click.option("--valid-pct", type=float, default=0.2, show_default=True, callback=_fraction,
                     help="Share of the rows held out for validation, in [0, 1)."),
        click.option("--seed", type=click.IntRange(0, MAX_SEED), default=42, show_default=True,
                     help="Seeds the split, the starts and the baselines."),
        click.option("--split", type=click.Choice(["random", "time"]), default="random", show_default=True,
                     help="Which rows validate: a seeded random share, or (time) the latest rows by the date "
                          "column, so that the score is a forecast's."),
    )):
        f = option(f)
    return f


@main.command()
@click.argument("train", metavar="DATA")
@click.option("--recipe", "recipe_path", metavar="FILE", default=None,
              help="A recipe (TOML) saying how each column becomes features; see `titanic-reg recipe`.")
@_data_options
@click.option("--test", "test", default="auto", show_default=True, metavar="PATH",
              help="Rows to predict; auto = the file beside DATA named with 'test' for 'train' "
                   "(Kaggle's test.csv beside train.csv), if there is one.")
@click.option("--out", "out", default="out", show_default=True, metavar="DIR",
              help="Folder for metrics.json, the predictions, loss.png, compare.png, recipe.toml and the workbook.")
@click.option("--models", "models", default=None, metavar="LIST",
              help=f"Models to fit, comma-separated: {choices()}.  [default: the recipe's models (an inferred "
                   f"recipe names them for a wide table), else {','.join(DEFAULT_MODELS)}]")
@click.option("--batch-size", "batch_size", type=click.IntRange(1, 10_000_000), default=None,
              help="Mini-batch descent, as fastbook's DataLoader: each epoch a pass over the training rows in "
                   "shuffled batches of this many, a step each (models trained by conjugate gradient take the "
                   "plain step instead)  [default: every row at each step]")
@click.option("--loss", type=click.Choice(LOSS_CHOICES), default="mse", show_default=True,
              help="What the models are trained on: mse, the lesson's mean squared error, or mnist, fastbook's "
                   "mnist_loss (1 - prediction where the target is 1, the prediction where it is 0; for models "
                   "whose output is a sigmoid's).")
@click.option("--epochs", type=click.IntRange(1, MAX_EPOCHS), default=None,
              help=f"Gradient-descent steps for every model  [default: each model's own "
                   f"({_defaults('epochs')}); conjugate gradient stops sooner, once converged]")
@click.option("--lr", type=float, default=None, callback=_positive_finite,
              help=f"Learning rate for every model  [default: each model's own ({_defaults('lr', True)}); "
                   "conjugate gradient finds its own]")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES), default="auto", show_default=True,
              help="auto: each model's own, conjugate gradient where the loss is a quadratic of the "
                   "parameters, adam otherwise; any other: the same for all (sgd is the lesson's plain step).")
@click.option("--restarts", type=click.IntRange(1, MAX_RESTARTS), default=None,
              help="Random starts of each model trained by descent; the best one is kept  "
                   f"[default: each model's own ({_defaults('restarts', True)})]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--baselines", type=click.Choice(BASELINE_CHOICES), default="all", show_default=True,
              help="all: scikit-learn's models and the recipe's rules, to compare with; none: only the "
                   "recipe's rules, for tests and users in a hurry.")
@click.option("--submit-model", metavar="NAME", default=None,
              help="Model behind the predictions: one of --models or a baseline (scikit-learn's, named "
                   "sklearn_..., or the recipe's rules)  [default: ours with the best validation score]")
@click.option("--descent-steps", type=click.IntRange(min=0, max=MAX_DESCENT_STEPS), default=50, show_default=True,
              help="Rows of plain gradient descent by formula on the Descent sheets; 0 leaves them out.")
@click.option("--sheet-rows", type=click.IntRange(*SHEET_ROWS), default=None,
              help="Most rows the workbook holds; beyond it, a seeded sample, labelled as one "
                   "(torch and the metrics always use every row); rows x columns of a sheet may reach "
                   f"{MAX_SHEET_CELLS:,}  [default: 10,000, fewer for a wide "
                   "table: at most 400,000 cells on the Data sheet]")
@click.option("--no-workbook", is_flag=True, help="Skip the workbook.")
@click.option("--verify", "verify_after", is_flag=True,
              help="Recalculate the workbook in LibreOffice afterwards and compare every formula.")
def fit(train, recipe_path, target, positive, missing, valid_pct, seed, split, test, out, models, batch_size, loss, epochs,
        lr, optimizer,
        restarts, device, baselines, submit_model, descent_steps, sheet_rows, no_workbook, verify_after):
    """Fit the models (the lesson's two by default) and the baselines on DATA (Kaggle's
    train.csv, or any CSV with --target or --recipe) and write the outputs."""
    if verify_after and no_workbook:
        raise click.UsageError("--verify checks the workbook, which --no-workbook skips")
    from titanic_reg.report import out_problem, outputs  # light: no torch, no pandas

    predictions, workbook_name = _outputs_of(train, recipe_path, target)
    problem = out_problem(out, outputs(predictions, None if no_workbook else workbook_name))  # now, not after training
    if problem:
        raise click.BadParameter(printable(problem), param_hint="--out")
    from titanic_reg.background import Worker

    with Worker() as worker, _user_errors(), _warnings_as_lines():  # scikit-learn loads on the other core
        with process.deferred():
            workbook_writer = None if no_workbook else _workbook_writer(sheet_rows)
            from rich.console import Console

            from titanic_reg import pipeline, report

        in_the_way = report.input_in_the_way(out, outputs(predictions, None if no_workbook else workbook_name), [
            ("the training data", train), ("the --recipe file", recipe_path),
            ("the --test file", pipeline.default_test_path(Path(train)) if test == "auto" else test)])
        if in_the_way:
            raise click.BadParameter(in_the_way, param_hint="--out")
        err, console = Console(stderr=True), Console()
        with _progress(err) as progress:
            result = pipeline.fit(
                train, test, recipe=recipe_path, target=target, positive=positive, missing=missing,
                valid_pct=valid_pct, seed=seed, split=split, epochs=epochs, lr=lr, optimizer=optimizer, restarts=restarts,
                device=device, baselines=baselines, submit_model=submit_model, descent_steps=0 if no_workbook else descent_steps,
                progress=progress, worker=worker, models=models, loss=loss, batch_size=batch_size,
                check_models=None if no_workbook else _sheet_limits,
                check_workbook=None if no_workbook else functools.partial(_sheet_cells, sheet_rows),
            )
        process.stop_if_interrupted()
        from titanic_reg.compare_figure import compare_plot

        # drawn on the other core while the workbook is written
        worker.draw(report.loss_plot(result), compare_plot(result))
        try:
            paths = report.write_outputs(result, out, workbook_writer, loss_png=worker.drawn,
                                         compare_png=worker.drawn_compare)
        except OSError as exc:  # a full disk, a read-only folder: the user's to fix
            process.stop_if_interrupted()
            _fail(f"cannot write to {exc.filename or out}: {exc.strerror or exc}")
        process.outputs_written()
        process.stop_if_interrupted()
        console.print(report.table(result))
        for path in paths:
            console.print(f"wrote {path}", highlight=False, soft_wrap=True)
        if verify_after:
            workbook = Path(out) / result.recipe.workbook_name
            if workbook not in paths:
                _fail("--verify: no workbook was written, so there is nothing to verify")
            _verify(console, workbook)


def _outputs_of(train, recipe_path, target) -> tuple[str, str]:
    from titanic_reg.report import planned_outputs  # light: no torch, no pandas

    return planned_outputs(train, recipe_path, target)


@main.command("recipe")
@click.argument("train", metavar="DATA")
@functools.partial(_data_options, target_required=True)
@click.option("-o", "--output", metavar="FILE", default=None,
              help="Write the recipe here (replaced whole) instead of printing it.")
def recipe_command(train, target, positive, missing, valid_pct, seed, split, output):
    """Infer the recipe for predicting --target from the other columns of DATA, each decision with
    its reason: a TOML file to read, edit and fit with (fit --recipe FILE)."""
    if target is None:
        raise click.UsageError("recipe needs --target COLUMN, the column to predict")
    if output and Path(output).is_dir():
        raise click.BadParameter(printable(f"{output} is a folder"), param_hint="--output")
    from titanic_reg.report import input_in_the_way  # light: no torch, no pandas

    if output and input_in_the_way(Path(output).parent, [Path(output).name], [("the data", train)]):
        raise click.BadParameter(printable(f"{output} is DATA, the file the recipe is inferred from; writing the "
                                           "recipe there would replace it"), param_hint="--output")
    with _user_errors(), _warnings_as_lines():
        from titanic_reg import pipeline
        from titanic_reg.recipe import dumps
        from titanic_reg.table import read_table

        table = read_table(train)
        recipe = pipeline.choose_recipe(table, None, target, positive, missing, valid_pct, seed, split)
        text = dumps(recipe, f"titanic-reg recipe for {Path(train).name}, predicting {recipe.target.column}.\n"
                             "Each column: its kind, how it becomes features, and why. Change any of it, then:\n"
                             f"  titanic-reg fit {train} --recipe {output or 'recipe.toml'}")  # the paths as typed
        if output is None:
            click.echo(text, nl=False)
            return
        from titanic_reg.atomic import write_text

        try:
            write_text(output, text)
        except OSError as exc:
            _fail(f"cannot write {exc.filename or output}: {exc.strerror or exc}")
        process.outputs_written()
        click.echo(f"wrote {output}: {len(recipe.inputs)} input columns, {len(recipe.left_out)} left out", err=True)


def _sheet_limits(model, n_features):
    from titanic_reg.sheets.workbook import too_wide

    return too_wide(model, n_features)


def _sheet_cells(max_rows, recipe, features, models, rows, test_rows):
    from titanic_reg.sample import too_many_cells

    return too_many_cells(max_rows, recipe, features, models, rows, test_rows)


def _workbook_writer(max_rows):
    try:
        from titanic_reg.sheets.workbook import write_workbook
    except ModuleNotFoundError as exc:
        if exc.name != "titanic_reg.sheets.workbook":  # the module is there but broken: show why
            raise
        click.echo("warning: sheets/workbook.py is not installed; no titanic.xlsx", err=True)
        return None
    return functools.partial(write_workbook, max_rows=max_rows)


@contextlib.contextmanager
def _progress(console):
    """A `progress(name, total) -> advance(steps, total=None)` factory for pipeline.fit, drawn
    on stderr; `total` changes when conjugate gradient stops early."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    # Off when stderr is a file or a pipe: logs want the table, not redraws.
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, disable=not console.is_terminal) as bars:
        def factory(name, total):
            task = bars.add_task(name, total=total)

            def advance(steps=1, total=None):
                process.stop_if_interrupted()
                bars.update(task, advance=steps, **({"total": total} if total is not None else {}))

            return advance

        yield factory


def _verify(console, path, tol=1e-9, timeout=VERIFY_TIMEOUT, engine="libreoffice"):
    """Recalculate in the engine (or in each, for "all"): one summary each; exit 1 unless every one matched."""
    from titanic_reg.sheets.recalc import ENGINES
    from titanic_reg.sheets.verify import verify as run

    failed = False
    for name in ENGINES if engine == "all" else (engine,):
        report = run(path, tol=tol, timeout=timeout, engine=name)
        console.print(report.summary(), highlight=False, markup=False, soft_wrap=True)
        failed |= not report.ok
    if failed:
        sys.exit(EXIT_ERROR)


def _finite(low, high=None, low_open=False):
    """A click callback: the number finite and within bounds (FloatRange lets nan and inf through)."""
    def check(ctx, param, value):
        import math

        if (not math.isfinite(value) or value < low or (low_open and value == low)
                or (high is not None and value > high)):
            above = f"above {low:g}" if low_open else f"at least {low:g}"
            raise click.BadParameter(f"{value!r} is not a finite number {above}"
                                     + (f" and at most {high:g}" if high is not None else ""))
        return value
    return check


@main.command()
@click.argument("workbook", type=click.Path())
@click.option("--tol", type=float, default=1e-9, show_default=True, callback=_finite(0),
              help="Largest relative difference accepted between a cached and a recalculated value.")
@click.option("--timeout", type=float, default=VERIFY_TIMEOUT, show_default=True,
              callback=_finite(0, 86_400, low_open=True),  # sheets.verify.MAX_TIMEOUT, a day
              help="Seconds the whole command may take per engine (reading, recalculating, comparing); "
                   "at most a day.")
@click.option("--engine", type=click.Choice(["libreoffice", "gnumeric", "all"]), default="libreoffice",
              show_default=True, help="The spreadsheet engine that recalculates: LibreOffice Calc, Gnumeric "
                                      "(ssconvert --recalc), or each in turn.")
def verify(workbook, tol, timeout, engine):
    """Recalculate WORKBOOK in LibreOffice (or Gnumeric) and compare every formula cell with its cached value.

    Exit status: 0 all match, 1 a mismatch or an unreadable file, 3 the engine is not installed.
    """
    if Path(workbook).is_dir():  # an unreadable workbook, as the exit status above says: 1, not a usage error
        _fail(f"{workbook}: is a folder, not a workbook")
    with _user_errors():
        from rich.console import Console

        _verify(Console(), workbook, tol, timeout, engine)


# --------------------------------------------------------------------------- the lesson notebook
LESSON_OUT = "out/lesson"


def _lesson_out(out):
    if Path(out).exists() and not Path(out).is_dir():
        raise click.BadParameter(printable(f"{out} is a file, not a folder"), param_hint="--out")
    return Path(out)


def _write_lesson_files(out, files):
    """files: [(name, writer(tmp_path))]; all written into out together, or none."""
    from titanic_reg.atomic import staged

    try:
        out.mkdir(parents=True, exist_ok=True)
        with staged() as stage:
            paths = [stage.file(out / name, writer) for name, writer in files]
        process.outputs_written()
        return paths
    except OSError as exc:  # a full disk, a read-only folder: the user's to fix
        _fail(f"cannot write to {exc.filename or out}: {exc.strerror or exc}")


def _lesson_not_converged(lesson_mod, result) -> str:
    """fit_quad's ConvergenceWarning, said with the command's options."""
    lr = result.lr
    text = f"not converged after {result.steps:,} steps (largest |gradient| {result.max_grad:.2g})"
    need = lesson_mod.steps_to_converge(lr, result.tol, start=tuple(result.params[0].tolist()))
    if not result.zero_grad:
        if need <= LESSON_STEPS_LIMIT:
            return text + (f": the gradients were never zeroed (--no-zero-grad); zeroed, --lr {lr:g} "
                           f"converges in {need:,} steps")
        return text + ": the gradients were never zeroed (--no-zero-grad)"
    if need == float("inf") and lr < lesson_mod._lr_limit(result.x):  # 1 - lr*curvature rounds to 1
        return text + (f": --lr {lr:g} is too small: each step is (nearly) lost in rounding, and the descent "
                       f"never gets there; use 0.003 to {LESSON_LR_LIMIT}")
    if need == float("inf"):
        return text + f": --lr {lr:g} is too large, this descent diverges above {lesson_mod._lr_limit(result.x):.4g}"
    if need > LESSON_STEPS_LIMIT:
        return text + (f": --lr {lr:g} needs {need:,} steps, more than --max-steps takes "
                       f"({LESSON_STEPS_LIMIT:,}); raise --lr to 0.003 or more (below {LESSON_LR_LIMIT})")
    suggest = min(-(-need // 100) * 100, LESSON_STEPS_LIMIT)  # rounded up to a hundred
    return text + f": --lr {lr:g} needs {need:,} steps; raise --max-steps to {suggest} (at most {LESSON_STEPS_LIMIT:,})"


@main.group()
def lesson():
    """The lesson notebook "How does a neural net really work?": a quadratic fitted
    by gradient descent, and a curve drawn by a sum of ReLUs."""


@lesson.command("quad")
@click.option("--out", "out", default=LESSON_OUT, show_default=True, metavar="DIR",
              help="Folder for quad.png and quad.xlsx.")
@click.option("--lr", type=float, default=LESSON_LR, show_default=True, callback=_positive_finite,
              help=f"Learning rate: 0.1 converges in 261 steps, the lesson's 0.01 in 2,695; "
                   f"above about {LESSON_DIVERGES} the descent diverges.")
@click.option("--max-steps", type=click.IntRange(1, LESSON_STEPS_LIMIT), default=LESSON_MAX_STEPS,
              show_default=True,
              help=f"Stop here if not converged yet, at most {LESSON_STEPS_LIMIT:,} (--lr 0.003 to "
                   f"{LESSON_LR_LIMIT} converges within it); one Descent row per step.")
@click.option("--start", type=(float, float, float), default=LESSON_START, show_default=True, callback=_start,
              metavar="A B C", help="The a, b, c before the first step (the lesson's loop starts from 1.1 1.1 1.1).")
@click.option("--no-zero-grad", "no_zero_grad", is_flag=True,
              help="Run the lesson's loop (with the MSE; the lesson's own minimises the MAE) without "
                   "abc.grad.zero_(): backward() adds each gradient to the sum of the earlier ones, every "
                   "step uses that sum, and the loss rises again after a few steps.")
@click.option("--verify", "verify_after", is_flag=True,
              help="Recalculate quad.xlsx in LibreOffice afterwards and compare every formula.")
def lesson_quad(out, lr, max_steps, start, no_zero_grad, verify_after):
    """Fit a*x^2 + b*x + c to the lesson's noisy points by gradient descent, minimising the MSE,
    from --start until every |gradient| < 1e-9; write quad.png and quad.xlsx (every step by formula).

    The gradients are zeroed after each step, which the lesson's loop does not do:
    --no-zero-grad shows what that does."""
    out = _lesson_out(out)
    with _user_errors():
        import warnings

        from titanic_reg.sheets.lesson_sheets import write_quad_workbook
        from titanic_reg import lesson as lesson_mod

        try:
            with warnings.catch_warnings():
                # Its ConvergenceWarning speaks Python (max_steps=...): said below with the options.
                warnings.simplefilter("ignore", lesson_mod.ConvergenceWarning)
                result = lesson_mod.fit_quad(lr=lr, max_steps=max_steps, zero_grad=not no_zero_grad, start=start)
        except lesson_mod.DivergedError as exc:
            _fail(f"--lr {lr:g} is too large: the loss became {exc.loss} at step {exc.step} "
                  f"(this descent diverges above --lr {exc.lr_limit:.3g})")
        for line in result.shown_lines():
            click.echo(line)
        paths = _write_lesson_files(out, [
            ("quad.png", lambda tmp: lesson_mod.save_quad_plot(result, tmp)),
            ("quad.xlsx", lambda tmp: write_quad_workbook(result, tmp)),
        ])
        cf = result.closed_form.tolist()
        click.echo(f"a={result.a:.6f} b={result.b:.6f} c={result.c:.6f} (true 3, 2, 1); MSE {result.loss:.9f}")
        click.echo(f"least squares: a={cf[0]:.6f} b={cf[1]:.6f} c={cf[2]:.6f}; MSE {result.closed_form_loss:.9f}")
        rose = result.rose_at
        if not result.zero_grad and rose is not None:
            before, after = result.losses[rose - 1].item(), result.losses[rose].item()
            click.echo(f"the loss rose again at step {rose} ({before:.2f} to {after:.2f}): without "
                       "abc.grad.zero_(), each step used the sum of every gradient so far")
        if result.converged:
            click.echo(f"converged after {result.steps} steps (lr {lr:g}): every |gradient| < {result.tol:g}")
        else:
            click.echo(f"warning: {_lesson_not_converged(lesson_mod, result)}", err=True)
        for path in paths:
            click.echo(f"wrote {path}")
        if verify_after:
            from rich.console import Console

            _verify(Console(), out / "quad.xlsx")


@lesson.command("relu")
@click.option("--out", "out", default=LESSON_OUT, show_default=True, metavar="DIR",
              help="Folder for relu.png and relu_fit.png.")
def lesson_relu(out):
    """Draw rectified_linear and double_relu (relu.png), and a sum of ReLUs fitted to the
    noisy points by gradient descent (relu_fit.png)."""
    out = _lesson_out(out)
    with _user_errors():
        from titanic_reg import lesson as lesson_mod

        fit = lesson_mod.fit_relus()
        paths = _write_lesson_files(out, [
            ("relu.png", lesson_mod.save_relu_plot),
            ("relu_fit.png", lambda tmp: lesson_mod.save_relu_fit_plot(tmp, fit)),
        ])
        click.echo(f"sum of {fit.k} ReLUs: MSE {fit.loss:.4f}; best straight line: MSE {fit.line_loss:.4f}")
        for path in paths:
            click.echo(f"wrote {path}")


def run():
    """The `titanic-reg` console script: the command, then titanic_reg.process's quick exit."""
    process.run(main)


if __name__ == "__main__":
    run()
