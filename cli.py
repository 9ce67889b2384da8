"""`titanic-reg`: fit the lesson's models, write the outputs, verify a workbook.

Kept thin: the work lives in titanic_reg and sheets. torch, pandas and rich are
imported inside the commands so that `titanic-reg --help` answers at once.
"""
from __future__ import annotations

import contextlib
import functools
import math
import sys
from pathlib import Path

import click

from titanic_reg import __version__

# Mirrors pipeline.MODELS and baselines.TITLES (tests/test_cli.py keeps them equal);
# importing those here would load torch for --help.
SUBMIT_MODELS = ("linear", "two_relu", "sklearn_linear", "sklearn_logistic", "sklearn_mlp",
                 "everyone_dies", "women_survive")
EXIT_ERROR, EXIT_NO_LIBREOFFICE, EXIT_INTERRUPTED = 1, 3, 130


def _fail(message, code=EXIT_ERROR):
    # One line, whatever the message holds: scripts grep it, people read it.
    click.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _user_errors():
    """Turn the errors a user can fix into one line and an exit code; bugs keep their traceback."""
    from sheets.recalc import NoLibreOffice, RecalcError
    from sheets.verify import VerifyError
    from titanic_reg.errors import InputError, TrainingError

    try:
        yield
    except NoLibreOffice as exc:
        _fail(exc, EXIT_NO_LIBREOFFICE)
    except (InputError, TrainingError, VerifyError, RecalcError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        # Before click turns it into "Aborted!" with exit 1.
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _positive_finite(ctx, param, value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a finite number above 0")
    return value


def _fraction(ctx, param, value):
    if not (math.isfinite(value) and 0 <= value < 1):
        raise click.BadParameter(f"{value} is not in [0, 1)")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="titanic-reg")
def main():
    """The fast.ai lesson-3 Titanic models (linear and two ReLUs), fitted by
    gradient descent in torch and written out as a live Excel workbook."""


@main.command()
@click.argument("train", metavar="TRAIN")
@click.option("--test", "test", default="auto", show_default=True, metavar="PATH",
              help="Kaggle test CSV to predict; auto = test.csv beside TRAIN, if there is one.")
@click.option("--out", "out", default="out", show_default=True, metavar="DIR",
              help="Folder for metrics.json, submission.csv, loss.png and titanic.xlsx.")
@click.option("--missing", type=click.Choice(["drop", "fill"]), default="drop", show_default=True,
              help="drop: keep training rows with every input; fill: use each column's training mode.")
@click.option("--valid-pct", type=float, default=0.2, show_default=True, callback=_fraction,
              help="Share of the rows held out for validation, in [0, 1).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=42, show_default=True,
              help="Seeds the split, the starts and the baselines.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Gradient-descent steps for both models  [default: linear 500, two_relu 1000]")
@click.option("--lr", type=float, default=None, callback=_positive_finite,
              help="Learning rate for both models  [default: linear 0.1, two_relu 0.03]")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="adam", show_default=True,
              help="sgd is the lesson's plain step.")
@click.option("--restarts", type=click.IntRange(min=1), default=None,
              help="Random starts of the two-ReLU model; the best one is kept  [default: 128]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--submit-model", type=click.Choice(SUBMIT_MODELS), default=None,
              help="Model behind submission.csv  [default: ours with the best (validation) accuracy]")
@click.option("--descent-steps", type=click.IntRange(min=0, max=1000), default=50, show_default=True,
              help="Rows of plain gradient descent by formula on the Descent sheets; 0 leaves them out.")
@click.option("--sheet-rows", type=click.IntRange(min=10, max=1_000_000), default=10_000, show_default=True,
              help="Most rows the workbook holds; beyond it, a seeded sample, labelled as one "
                   "(torch and the metrics always use every row).")
@click.option("--no-workbook", is_flag=True, help="Skip titanic.xlsx.")
@click.option("--verify", "verify_after", is_flag=True,
              help="Recalculate titanic.xlsx in LibreOffice afterwards and compare every formula.")
def fit(train, test, out, missing, valid_pct, seed, epochs, lr, optimizer, restarts, device,
        submit_model, descent_steps, sheet_rows, no_workbook, verify_after):
    """Fit both models and the baselines on TRAIN (Kaggle's train.csv) and write the outputs."""
    if verify_after and no_workbook:
        raise click.UsageError("--verify checks titanic.xlsx, which --no-workbook skips")
    if Path(out).exists() and not Path(out).is_dir():  # found now, not after the training
        raise click.BadParameter(f"{out} is a file, not a folder", param_hint="--out")
    with _user_errors():
        workbook_writer = None if no_workbook else _workbook_writer(sheet_rows)
        from rich.console import Console

        from titanic_reg import pipeline, report

        err, console = Console(stderr=True), Console()
        with _progress(err) as progress:
            try:
                result = pipeline.fit(
                    train, test, missing=missing, valid_pct=valid_pct, seed=seed, epochs=epochs, lr=lr,
                    optimizer=optimizer, restarts=restarts, device=device, submit_model=submit_model,
                    descent_steps=0 if no_workbook else descent_steps,
                    progress=progress,
                )
            except ValueError as exc:  # fit's own argument checks
                _fail(exc)
        try:
            paths = report.write_outputs(result, out, workbook_writer)
        except OSError as exc:  # a full disk, a read-only folder: the user's to fix
            _fail(f"cannot write to {exc.filename or out}: {exc.strerror or exc}")
        console.print(report.table(result))
        for path in paths:
            console.print(f"wrote {path}", highlight=False, soft_wrap=True)
        if verify_after:
            workbook = Path(out) / "titanic.xlsx"
            if workbook not in paths:
                _fail("--verify: no workbook was written, so there is nothing to verify")
            _verify(console, workbook)


def _workbook_writer(max_rows):
    try:
        from sheets.workbook import write_workbook
    except ModuleNotFoundError as exc:
        if exc.name != "sheets.workbook":  # the module is there but broken: show why
            raise
        click.echo("warning: sheets/workbook.py is not installed; no titanic.xlsx", err=True)
        return None
    return functools.partial(write_workbook, max_rows=max_rows)


@contextlib.contextmanager
def _progress(console):
    """A `progress(name, total) -> advance(n)` factory for pipeline.fit, drawn on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # Off when stderr is a file or a pipe: logs want the table, not redraws.
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, disable=not console.is_terminal) as bars:
        def factory(name, total):
            task = bars.add_task(name, total=total)
            return lambda n=1: bars.advance(task, n)

        yield factory


def _verify(console, path, tol=1e-9, timeout=120.0):
    from sheets.verify import verify as run

    report = run(path, tol=tol, timeout=timeout)
    console.print(report.summary(), highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False))
@click.option("--tol", type=click.FloatRange(min=0), default=1e-9, show_default=True,
              help="Largest relative difference accepted between a cached and a recalculated value.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="Seconds LibreOffice may take.")
def verify(workbook, tol, timeout):
    """Recalculate WORKBOOK in LibreOffice and compare every formula cell with its cached value.

    Exit status: 0 all match, 1 a mismatch or an unreadable file, 3 no LibreOffice.
    """
    with _user_errors():
        from rich.console import Console

        _verify(Console(), workbook, tol, timeout)


if __name__ == "__main__":
    main()
