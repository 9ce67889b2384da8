"""The `titanic-reg` command and what it writes (report.py, atomic.py), and how its process
ends (process.py).

Runs in-process with click's CliRunner, except where the process itself is the
point (import time of --help, Ctrl-C, the exit). Small --epochs wherever the fitted numbers
are not what is being tested; the real default run happens once per session.
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import NO_BASELINES
from titanic_reg import cli

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "data" / "train.csv"
TEST = ROOT / "data" / "test.csv"
QUICK = ["--epochs", "20", "--restarts", "2", *NO_BASELINES]

# The lesson's linear model on the 712 complete rows, from the closed-form fit.
LINEAR_OPTIMUM = 0.144227149307


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def one_line_error(result):
    """The stderr of a failed run: exactly one `error: ...` line and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def edited(tmp_path, source, name, change):
    """A copy of a shipped CSV with `change(rows)` applied to its list of records."""
    with open(source, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    change(rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path = tmp_path / name
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def drop_column(column):
    def change(rows):
        i = rows[0].index(column)
        for record in rows:
            del record[i]

    return change


def set_cell(row, column, value):
    def change(rows):
        rows[row - 1][rows[0].index(column)] = value

    return change


# --------------------------------------------------------------------------- help and version


HEAVY = {"torch", "pandas", "numpy", "rich", "matplotlib", "sklearn"}


@pytest.mark.parametrize("args", [["--help"], ["fit", "--help"], ["lesson", "quad", "--help"]])
def test_help_does_not_load_the_heavy_libraries(args):
    """Every number --help shows comes from titanic_reg.limits and the model registry, which
    import none of them. (How quick it is, the benchmark measures: bench/run.py; a timed test
    would fail on a busy machine.)"""
    code = ("import sys\nfrom titanic_reg import cli\ntry:\n    cli.main()\nexcept SystemExit as exc:\n"
            f"    assert exc.code == 0, exc.code\nloaded = {sorted(HEAVY)!r}\n"
            "print(sorted(set(loaded) & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    *help_text, loaded = out.stdout.splitlines()
    assert loaded == "[]", loaded
    assert "Usage:" in help_text[0]


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert "0.1.0" in result.stdout


def test_python_m_titanic_reg_is_the_command():
    """`python -m titanic_reg` (titanic_reg/__main__.py) runs the command, and exits with its status."""
    def module(*args):
        return subprocess.run([sys.executable, "-m", "titanic_reg", *map(str, args)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    version = module("--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout, version.stderr
    usage = module("fit", TRAIN, "--epochs", "0")
    assert usage.returncode == 2 and "Invalid value for '--epochs'" in usage.stderr


def test_fit_help_states_the_default_models_own_settings():
    """As the registry has them (the help names no model of its own); conjugate gradient's
    model takes no --lr or --restarts, so it is left out of those two."""
    from titanic_reg.models import DEFAULT_MODELS, get

    text = " ".join(run("fit", "--help").stdout.split())
    defaults = {name: get(name).defaults for name in DEFAULT_MODELS}
    by_descent = [name for name, d in defaults.items() if d["optimizer"] != "cg"]
    assert by_descent and len(by_descent) < len(defaults)  # the lesson's two: one by each
    epochs = ", ".join(f"{name} {d['epochs']:,}" for name, d in defaults.items())
    assert f"[default: each model's own ({epochs});" in text
    lr = ", ".join(f"{name} {defaults[name]['lr']}" for name in by_descent)
    restarts = ", ".join(f"{name} {defaults[name]['restarts']}" for name in by_descent)
    assert f"each model's own ({lr}); conjugate gradient finds its own" in text
    assert f"[default: each model's own ({restarts})]" in text


# --------------------------------------------------------------------------- a quick full run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick") / "out"
    result = run("fit", TRAIN, "--out", out, "--no-workbook", "--epochs", "50")
    assert result.exit_code == 0, result.output + result.stderr
    return result, out


def test_fit_writes_metrics_submission_and_plot(quick_run):
    result, out = quick_run
    assert sorted(p.name for p in out.iterdir()) == ["compare.png", "loss.png", "metrics.json", "recipe.toml",
                                                     "submission.csv"]
    for name in ("metrics.json", "submission.csv", "loss.png", "compare.png", "recipe.toml"):
        assert f"wrote {out / name}" in result.stdout

    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=pytest.fail)
    rows = metrics["rows"]
    assert rows["train"] + rows["valid"] + rows["dropped"] == 891
    assert rows["dropped"] == 891 - 712 and rows["test"] == 418
    assert rows["valid"] == round(712 * 0.2)
    assert metrics["features"] == ["SibSp", "Parch", "Age_N", "log_Fare", "Pclass_1", "Pclass_2",
                                   "Embark_S", "Embark_C", "Male", "Ones"]
    for name, units, tensor in (("linear", 1, "lin_w"), ("two_relu", 2, "relu_W")):
        m = metrics["models"][name]
        for key in ("train_mse", "valid_mse", "train_acc", "valid_acc", "fit_seconds", "n_params",
                    "predict_ms_per_1000", "size_bytes", "params", "init", "history", "restarts", "restart_losses"):
            assert key in m, (name, key)
        assert m["n_params"] == units * 10
        assert list(m["params"]) == [tensor] and list(m["init"]) == [tensor]
        assert len(m["params"][tensor]) == units and all(len(w) == 10 for w in m["params"][tensor])
        assert len(m["init"][tensor]) == units
        # Conjugate gradient (the linear model's default) stops once converged, within 50 steps here.
        steps = m["steps"] if name == "linear" else 50
        assert m["optimizer"] == {"linear": "cg", "two_relu": "adam"}[name] and m["epochs"] == 50
        assert len(m["history"]) == steps + 1 and m["history"][-1] == pytest.approx(m["train_mse"])
        assert 0.5 < m["valid_acc"] <= 1
    linear = metrics["models"]["linear"]
    assert linear["optimum_gap"] == pytest.approx(linear["train_mse"] - linear["optimum_mse"])
    assert linear["steps"] < 20 and abs(linear["optimum_gap"]) < 1e-12 and linear["lr"] is None
    assert linear["converged"] is True and metrics["models"]["two_relu"]["converged"] is None
    assert linear["screen"] is None is metrics["models"]["two_relu"]["screen"]  # 570 rows: no screening
    assert len(linear["optimum_params"]) == 10
    assert metrics["models"]["two_relu"]["restarts"] == 128 == len(metrics["models"]["two_relu"]["restart_losses"])
    assert {"sklearn_linear", "sklearn_logistic", "sklearn_mlp", "sklearn_gbm", "everyone_dies", "women_survive"} \
        == set(metrics["baselines"])
    assert set(metrics["baselines"]["women_survive"]) >= {"train_mse", "valid_mse", "train_acc", "valid_acc"}
    assert metrics["submit_model"] in ("linear", "two_relu")
    assert metrics["stats"]["inputs"]["Embarked"]["fill"] == "S"
    assert metrics["stats"]["inputs"]["Age"]["max"] == 80
    assert metrics["target"] == {"column": "Survived", "kind": "binary", "positive": "1", "negative": "0"}
    assert metrics["recipe"].startswith("the lesson's recipe") and metrics["leakage"] == []
    settings = metrics["settings"]
    assert settings["seed"] == 42 and settings["missing"] == "drop" and settings["valid_pct"] == 0.2
    assert settings["models"]["linear"]["epochs"] == 50
    assert len(settings["sha256"]["train"]) == 64 and "torch" in settings["versions"]


def test_submission_is_in_kaggles_format(quick_run):
    _, out = quick_run
    lines = (out / "submission.csv").read_text().splitlines()
    assert lines[0] == "PassengerId,Survived"
    assert len(lines) == 1 + 418
    ids, survived = zip(*(map(int, line.split(",")) for line in lines[1:]))
    assert ids == tuple(range(892, 1310))
    assert set(survived) <= {0, 1}


def test_loss_plot_is_a_png(quick_run):
    _, out = quick_run
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_lists_ours_first_then_baselines(quick_run):
    result, _ = quick_run
    order = [result.stdout.index(name) for name in ("two_relu", "sklearn_linear", "women_survive")]
    assert order == sorted(order)
    assert "closed-form optimum" in result.stdout


# --------------------------------------------------------------------------- the lesson's numbers


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("default") / "out"
    result = run("fit", TRAIN, "--missing", "drop", "--valid-pct", "0", "--no-workbook", "--out", out, *NO_BASELINES)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_default_run_reaches_the_linear_optimum(default_run):
    linear = default_run["models"]["linear"]
    assert default_run["rows"] == {"train": 712, "valid": 0, "dropped": 179, "no_target": 0, "test": 418}
    assert linear["optimum_mse"] == pytest.approx(LINEAR_OPTIMUM, abs=1e-9)
    assert linear["train_mse"] == pytest.approx(LINEAR_OPTIMUM, abs=1e-6)
    assert linear["valid_mse"] is None and linear["valid_acc"] is None


@pytest.mark.slow
def test_default_run_two_relus_beat_the_linear_model(default_run):
    assert default_run["models"]["two_relu"]["train_mse"] <= 0.1300
    assert default_run["submit_model"] == "two_relu"


# --------------------------------------------------------------------------- bad input


BAD_TRAIN = {
    # name: (change to train.csv, what the message must name)
    "Age abc": (set_cell(2, "Age", "abc"), ["row 2", "column Age", "'abc'"]),
    "Pclass 4": (set_cell(5, "Pclass", "4"), ["row 5", "column Pclass", "'4'"]),
    "Sex x": (set_cell(3, "Sex", "x"), ["row 3", "column Sex", "'x'"]),
    "Survived 2": (set_cell(4, "Survived", "2"), ["row 4", "column Survived", "'2'"]),
    "missing column": (drop_column("Fare"), ["row 1", "--target", "it lacks Fare"]),
}


@pytest.mark.parametrize("case", BAD_TRAIN)
def test_bad_training_file_is_one_line_and_writes_nothing(tmp_path, case):
    change, words = BAD_TRAIN[case]
    train = edited(tmp_path, TRAIN, "train.csv", change)
    result = run("fit", train, "--out", tmp_path / "out", *QUICK)
    assert result.exit_code == 1
    line = one_line_error(result)
    for word in [str(train), *words]:
        assert word in line, (word, line)
    assert not (tmp_path / "out").exists()


def test_missing_file(tmp_path):
    result = run("fit", tmp_path / "nope.csv", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert one_line_error(result) == f"error: {tmp_path / 'nope.csv'}: file not found"
    assert not (tmp_path / "out").exists()


def test_empty_file(tmp_path):
    (tmp_path / "train.csv").write_bytes(b"")
    result = run("fit", tmp_path / "train.csv", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert one_line_error(result) == f"error: {tmp_path / 'train.csv'}: the file is empty"
    assert not (tmp_path / "out").exists()


def test_test_file_with_an_embarked_code_training_never_saw(tmp_path, worker_in_process):
    """It is predicted all the same, with no port dummy, and a warning with the count."""
    test = edited(tmp_path, TEST, "test.csv", set_cell(7, "Embarked", "X"))
    result = run("fit", TRAIN, "--test", test, "--out", tmp_path / "out", *QUICK, "--no-workbook")
    assert result.exit_code == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "column Embarked" in line]
    assert len(warned) == 1 and warned[0].startswith(f"warning: {test}, column Embarked: 1 row ('X')")
    assert "no column of its own" in warned[0]
    assert len((tmp_path / "out" / "submission.csv").read_text().splitlines()) == 419


def test_test_file_beside_train_is_used(tmp_path, worker_in_process):
    train = edited(tmp_path, TRAIN, "train.csv", lambda rows: None)
    edited(tmp_path, TEST, "test.csv", lambda rows: rows.__delitem__(slice(11, None)))
    result = run("fit", train, "--out", tmp_path / "out", *QUICK, "--no-workbook")
    assert result.exit_code == 0, result.stderr
    assert len((tmp_path / "out" / "submission.csv").read_text().splitlines()) == 11


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu(tmp_path):
    result = run("fit", TRAIN, "--device", "cuda", "--out", tmp_path / "out", *NO_BASELINES)
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "CUDA" in line and "--device cpu" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [
    ["--epochs", "0"], ["--lr", "-1"], ["--lr", "0"], ["--lr", "nan"], ["--lr", "inf"],
    ["--valid-pct", "1"], ["--valid-pct", "-0.1"], ["--valid-pct", "nan"], ["--restarts", "0"],
    ["--missing", "mean"], ["--optimizer", "lbfgs"], ["--submit-model", "forest"], ["--seed", "-1"],
    ["--no-workbook", "--verify"],
])
def test_bad_options_are_usage_errors(tmp_path, args):
    result = run("fit", TRAIN, "--out", tmp_path / "out", *args)
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("a file")
    result = run("fit", TRAIN, "--out", tmp_path / "out", *QUICK)
    assert result.exit_code == 2
    assert "is a file" in result.stderr


def test_out_that_cannot_be_written(tmp_path, monkeypatch, worker_in_process):
    from titanic_reg import report

    def refuse(result, out, workbook_writer=None, loss_png=None, compare_png=None):
        raise PermissionError(13, "Permission denied", str(out))

    monkeypatch.setattr(report, "write_outputs", refuse)
    result = run("fit", TRAIN, "--out", tmp_path / "out", "--no-workbook", *QUICK)
    assert result.exit_code == 1
    # The last line: torch warns once per process, on whichever fit comes first.
    assert result.stderr.strip().splitlines()[-1] == f"error: cannot write to {tmp_path / 'out'}: Permission denied"
    assert "Traceback" not in result.stderr


def test_diverging_loss_names_the_step_and_suggests_a_smaller_lr(tmp_path):
    result = run("fit", TRAIN, "--lr", "1e6", "--optimizer", "sgd", "--epochs", "200",
                 "--out", tmp_path / "out", "--no-workbook", *NO_BASELINES)
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "Traceback" not in result.stderr
    assert "at step" in line and "smaller learning rate" in line and "--lr 100000" in line
    assert not (tmp_path / "out").exists()


def test_failed_run_leaves_previous_outputs_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"old": true}\n')
    train = edited(tmp_path, TRAIN, "train.csv", set_cell(2, "Age", "abc"))
    result = run("fit", train, "--out", out, *QUICK)
    assert result.exit_code == 1
    assert (out / "metrics.json").read_text() == '{"old": true}\n'
    assert sorted(os.listdir(out)) == ["metrics.json"]


# --------------------------------------------------------------------------- writing


@pytest.fixture(scope="module")
def small_result():
    from titanic_reg import pipeline

    return pipeline.fit(TRAIN, epochs=5, restarts=2, baselines=None)


def test_failing_workbook_writer_leaves_previous_outputs_alone(tmp_path, small_result):
    from titanic_reg.report import write_outputs

    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("old")
    (out / "loss.png").write_text("old png")

    def broken(result, path):
        Path(path).write_bytes(b"half a workbook")
        raise RuntimeError("the workbook failed")

    with pytest.raises(RuntimeError, match="the workbook failed"):
        write_outputs(small_result, out, broken)
    assert sorted(os.listdir(out)) == ["loss.png", "metrics.json"]  # no temporary files left
    assert (out / "metrics.json").read_text() == "old" and (out / "loss.png").read_text() == "old png"

    paths = write_outputs(small_result, out, lambda result, path: Path(path).write_bytes(b"xlsx"))
    assert [p.name for p in paths] == ["metrics.json", "submission.csv", "loss.png", "compare.png", "recipe.toml",
                                       "titanic.xlsx"]
    assert (out / "titanic.xlsx").read_bytes() == b"xlsx"
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)


def test_metrics_json_is_strict(small_result):
    import dataclasses

    from titanic_reg.report import metrics_json, metrics_text

    linear = small_result.runs["linear"]
    broken = dataclasses.replace(small_result, runs={
        **small_result.runs, "linear": dataclasses.replace(linear, scores={**linear.scores, "train_mse": float("nan")})})
    assert metrics_json(broken)["models"]["linear"]["train_mse"] is None
    json.loads(metrics_text(broken), parse_constant=pytest.fail)


def test_no_test_set_means_no_submission(tmp_path):
    from titanic_reg import pipeline
    from titanic_reg.report import metrics_json, write_outputs

    result = pipeline.fit(TRAIN, test_path=None, epochs=3, restarts=1, baselines=None)
    paths = write_outputs(result, tmp_path / "a" / "b")
    assert [p.name for p in paths] == ["metrics.json", "loss.png", "compare.png", "recipe.toml"]
    assert metrics_json(result)["rows"]["test"] == 0


def test_write_atomic_keeps_the_old_file_on_interrupt(tmp_path):
    from titanic_reg.atomic import write_atomic, write_bytes, write_text

    target = tmp_path / "f.txt"
    write_text(target, "old\n")
    os.chmod(target, 0o640)

    def interrupted(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["f.txt"]

    write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640  # permissions survive the replacement
    write_text(tmp_path / "fresh.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "fresh.txt").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["main", "run"])  # run: the console script
def test_interrupt_exits_130(tmp_path, entry):
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from titanic_reg import cli; cli.{entry}()", "fit", str(TRAIN), "--epochs", "100000",
         "--no-workbook", "--out", str(tmp_path / "out"), *NO_BASELINES],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # into the imports or the training: both are inside the command
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- verify


def _workbook(path, cached):
    import xlsxwriter

    with xlsxwriter.Workbook(path) as wb:
        ws = wb.add_worksheet("Data")
        ws.write_number("A1", 2)
        ws.write_formula("B1", "=A1*3", None, cached)


def test_verify_without_libreoffice_exits_3(tmp_path, monkeypatch):
    from titanic_reg.sheets import recalc

    monkeypatch.setattr(recalc, "find_soffice", lambda: None)
    _workbook(tmp_path / "w.xlsx", 6)
    result = run("verify", tmp_path / "w.xlsx")
    assert result.exit_code == 3
    assert "LibreOffice" in one_line_error(result)


def test_verify_without_gnumeric_exits_3_naming_it(tmp_path, monkeypatch):
    from titanic_reg.sheets import recalc

    monkeypatch.setattr(recalc, "find_ssconvert", lambda: None)
    _workbook(tmp_path / "w.xlsx", 6)
    result = run("verify", tmp_path / "w.xlsx", "--engine", "gnumeric")
    assert result.exit_code == 3
    assert one_line_error(result).startswith("error: Gnumeric (ssconvert) not found; install Gnumeric")


@pytest.mark.libreoffice
@pytest.mark.parametrize("cached, code", [(6, 0), (7, 1)])
def test_verify_in_every_engine_reports_each_and_fails_if_one_does(tmp_path, cached, code):
    from tests.conftest import engine_or_fail

    for engine in ("libreoffice", "gnumeric"):
        engine_or_fail(engine)
    _workbook(tmp_path / "w.xlsx", cached)
    result = run("verify", tmp_path / "w.xlsx", "--engine", "all")
    assert result.exit_code == code, result.stdout + result.stderr
    first, second = [line for line in result.stdout.splitlines() if line.startswith("checked ")]
    assert " in LibreOffice " in first and " in Gnumeric;" in second
    assert result.stdout.count("OK: every cached value matches" if code == 0 else "FAILED:") == 2


def test_verify_refuses_a_file_that_is_not_a_workbook(tmp_path):
    (tmp_path / "w.xlsx").write_text("hello")
    result = run("verify", tmp_path / "w.xlsx")
    assert result.exit_code == 1
    assert "not a zip archive" in one_line_error(result)


def test_verify_of_a_folder_or_a_missing_file_is_an_unreadable_workbook(tmp_path):
    """Exit 1 with one error line, as the README says of a workbook that cannot be read
    (a folder was a usage error, exit 2)."""
    folder = run("verify", tmp_path)
    assert folder.exit_code == 1 and one_line_error(folder) == f"error: {tmp_path}: is a folder, not a workbook"
    missing = run("verify", tmp_path / "nope.xlsx")
    assert missing.exit_code == 1 and "cannot read" in one_line_error(missing)


needs_soffice = pytest.mark.skipif(
    __import__("titanic_reg.sheets.recalc").sheets.recalc.find_soffice() is None, reason="LibreOffice not installed")


@needs_soffice
@pytest.mark.libreoffice
def test_verify_good_and_bad_cached_values(tmp_path):
    _workbook(tmp_path / "good.xlsx", 6)
    _workbook(tmp_path / "bad.xlsx", 7)
    good = run("verify", tmp_path / "good.xlsx")
    assert good.exit_code == 0, good.stdout + good.stderr
    assert "OK" in good.stdout
    bad = run("verify", tmp_path / "bad.xlsx")
    assert bad.exit_code == 1
    assert "FAILED" in bad.stdout and "Data!B1" in bad.stdout


def _has_workbook_writer():
    try:
        from titanic_reg.sheets.workbook import write_workbook  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


@needs_soffice
@pytest.mark.libreoffice
@pytest.mark.skipif(not _has_workbook_writer(), reason="sheets/workbook.py not written yet")
def test_fit_writes_a_workbook_that_verifies(tmp_path):
    out = tmp_path / "out"
    result = run("fit", TRAIN, "--out", out, "--verify", *QUICK)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (out / "titanic.xlsx").read_bytes()[:2] == b"PK"
    assert "OK" in result.stdout


def test_table_says_when_a_baseline_was_fitted_on_a_sample(lesson_fit):
    import copy

    from rich.console import Console

    from titanic_reg.report import table

    from titanic_reg.result import Baseline

    result = copy.copy(lesson_fit)
    mlp = lesson_fit.baselines["sklearn_mlp"]
    result.baselines = {**lesson_fit.baselines, "sklearn_mlp": Baseline(mlp.name, {**mlp.scores, "fit_rows": 300})}
    console = Console(record=True, width=100)
    console.print(table(result))
    text = " ".join(console.export_text().split())
    assert "sklearn_mlp was fitted on a seeded sample of 300 of the 712 training rows" in text
    console = Console(record=True, width=100)
    console.print(table(lesson_fit))
    assert "sample" not in console.export_text()


@pytest.mark.slow
def test_the_console_script_exits_with_the_commands_status(tmp_path):
    """`titanic-reg` is cli.run: main(), then an exit without Python's slow teardown."""
    def script(*args):
        return subprocess.run([sys.executable, "-c", "from titanic_reg import cli; cli.run()", *map(str, args)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    ok = script("fit", TRAIN, "--out", tmp_path / "out", "--no-workbook", *QUICK)
    assert ok.returncode == 0, ok.stderr
    assert f"wrote {tmp_path / 'out' / 'loss.png'}" in ok.stdout  # flushed before the exit
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["rows"]["train"] == 570
    missing = script("fit", tmp_path / "nope.csv")
    assert missing.returncode == 1 and missing.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: file not found"
    usage = script("fit", TRAIN, "--epochs", "0")
    assert usage.returncode == 2 and "Invalid value for '--epochs'" in usage.stderr


@pytest.mark.slow
def test_an_interrupt_a_library_turns_into_its_own_error_still_stops_as_interrupted(tmp_path, monkeypatch):
    """matplotlib's renderer, interrupted while drawing, raises ValueError('Invalid bounding
    box'): the Ctrl-C must still end the run as one, with nothing half-written."""
    from titanic_reg.background import Worker

    def drawing(self, path):  # loss.png, as it reaches the command from the background process
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raise ValueError("Invalid bounding box") from None

    monkeypatch.setattr(Worker, "drawn", drawing)
    result = run("fit", TRAIN, "--out", tmp_path / "out", "--no-workbook", *QUICK)
    assert result.exit_code == 130, result.output + result.stderr
    assert result.stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    monkeypatch.undo()
    again = run("fit", TRAIN, "--out", tmp_path / "out", "--no-workbook", *QUICK)
    assert again.exit_code == 0, again.stderr  # the next run starts with no interrupt remembered


def test_an_interrupt_dropped_in_a_gc_callback_stops_the_run_at_the_next_step(tmp_path, monkeypatch):
    """Python prints and drops a KeyboardInterrupt raised where it cannot propagate (a
    __del__ or weakref callback during an import, say): the run must stop all the same."""
    from titanic_reg import pipeline

    class Finalised:
        def __del__(self):
            raise KeyboardInterrupt

    load = pipeline.load

    def loading(*args, **kwargs):
        Finalised()  # collected at once: the interrupt goes to sys.unraisablehook
        return load(*args, **kwargs)

    from titanic_reg import baselines

    monkeypatch.setattr(pipeline, "load", loading)
    monkeypatch.setattr(baselines, "run", lambda *a, **k: pytest.fail("went on past the training"))
    result = run("fit", TRAIN, "--out", tmp_path / "out", "--no-workbook", *QUICK)
    assert result.exit_code == 130, result.output + result.stderr
    *said, last = result.stderr.strip().splitlines()  # the test file's warnings come before the first step
    assert last == "interrupted" and all(line.startswith("warning: ") for line in said), result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- --baselines


def test_baselines_none_leaves_scikit_learn_out_of_the_table_and_metrics(tmp_path):
    out = tmp_path / "out"
    result = run("fit", TRAIN, "--baselines", "none", "--out", out, "--no-workbook", *QUICK)
    assert result.exit_code == 0, result.output + result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"everyone_dies", "women_survive"}  # the lesson's recipe's rules
    assert set(metrics["models"]) == {"linear", "two_relu"}
    assert "sklearn" not in result.stdout and "women_survive" in result.stdout and "two_relu" in result.stdout
    refused = run("fit", TRAIN, "--baselines", "none", "--submit-model", "sklearn_linear", "--out", tmp_path / "no",
                  "--no-workbook", *QUICK)
    assert refused.exit_code == 2 and "sklearn_linear" in refused.stderr, refused.stderr
    assert not (tmp_path / "no").exists()


def test_baselines_takes_all_or_none_only(tmp_path):
    result = run("fit", TRAIN, "--baselines", "some", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "'some' is not one of 'all', 'none'" in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the process's end (process.py)


def _python(code, *args, env=None):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


def test_the_quick_exit_runs_our_clean_ups_once_and_python_s_exit_too():
    """process.run ends with os._exit, which skips atexit: what on_exit registered runs all the
    same, last first, once; without run() (the Python API) Python's own exit runs it."""
    quick = _python("import sys\nfrom titanic_reg import process\n"
                    "process.on_exit(print, 'first registered')\nprocess.on_exit(print, 'second', flush=True)\n"
                    "process.run(lambda: sys.exit(4))")
    assert (quick.returncode, quick.stdout.splitlines(), quick.stderr) == (4, ["second", "first registered"], "")
    normal = _python("from titanic_reg import process\nprocess.on_exit(print, 'at exit')")
    assert (normal.returncode, normal.stdout, normal.stderr) == (0, "at exit\n", "")


def test_a_signal_once_the_command_has_returned_leaves_its_exit_status():
    """Its outputs are all written by then: SIGTERM during the clean-ups is noted, nothing more
    (it killed the process with -15, or raised KeyboardInterrupt with a traceback, before)."""
    done = _python("import os, signal, sys\nfrom titanic_reg import process\n"
                   "process.on_exit(print, 'cleaned', flush=True)\n"
                   "process.on_exit(os.kill, os.getpid(), signal.SIGTERM)\n"
                   "def main():\n    process.handle_signals()\n    print('done')\n"
                   "process.run(main)")
    assert (done.returncode, done.stdout, done.stderr) == (0, "done\ncleaned\n", "")


def test_the_quick_exit_removes_matplotlibs_private_folder(tmp_path):
    """HOME unusable: matplotlib gets a temporary folder of ours (mplconfig), which the
    console script's quick exit must remove although it skips Python's atexit handlers."""
    home = tmp_path / "home"
    home.write_text("not a folder")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME")}
    env.update(HOME=str(home), TMPDIR=str(scratch))
    proc = _python("from titanic_reg import cli; cli.run()", "fit", TRAIN, "--out", tmp_path / "out",
                   "--no-workbook", *QUICK, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "loss.png").read_bytes()[:4] == b"\x89PNG"  # matplotlib ran
    assert list(scratch.iterdir()) == []


# --------------------------------------------------------------------------- what is at an output's path (issue 21)
PENGUINS = ROOT / "data" / "penguins.csv"


def test_recipe_output_to_a_named_pipe_is_written_into_it(tmp_path):
    """-o a FIFO: the recipe goes to whoever reads it, and the FIFO stays (before: replaced by a file)."""
    import stat

    fifo = tmp_path / "recipe.pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # there before the writer; the recipe fits the pipe's buffer
    result = run("recipe", PENGUINS, "--target", "sex", "-o", fifo)
    os.set_blocking(reader, True)
    with open(reader, "rb") as fh:
        got = fh.read().decode()
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert "[target]" in got


def test_recipe_output_to_a_pipe_nobody_reads_is_one_error_line(tmp_path):
    import stat

    fifo = tmp_path / "recipe.pipe"
    os.mkfifo(fifo)
    result = run("recipe", PENGUINS, "--target", "sex", "-o", fifo)
    assert result.exit_code == 1
    assert one_line_error(result) == f"error: cannot write {fifo}: it is a named pipe that no process reads from"
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and os.listdir(tmp_path) == ["recipe.pipe"]


def test_recipe_output_to_a_link_to_dev_null_leaves_the_link_and_the_device(tmp_path):
    import stat

    link = tmp_path / "recipe.toml"
    link.symlink_to("/dev/null")
    result = run("recipe", PENGUINS, "--target", "sex", "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fit_outputs_that_are_links_to_dev_null_stay_links(tmp_path):
    """A user who wants no loss.png links it to /dev/null: the link stays, the other outputs are written."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "loss.png").symlink_to("/dev/null")
    result = run("fit", TRAIN, "--no-workbook", "--baselines", "none", *QUICK, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert (out / "loss.png").is_symlink() and os.readlink(out / "loss.png") == "/dev/null"
    assert sorted(os.listdir(out)) == ["compare.png", "loss.png", "metrics.json", "recipe.toml", "submission.csv"]


def test_recipe_output_onto_its_own_data_is_refused(tmp_path):
    data = tmp_path / "penguins.csv"
    data.write_bytes(PENGUINS.read_bytes())
    result = run("recipe", data, "--target", "sex", "-o", data)
    assert result.exit_code == 2
    assert "is DATA, the file the recipe is inferred from" in result.stderr
    assert data.read_bytes() == PENGUINS.read_bytes()
