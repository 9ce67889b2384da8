"""Repeat with a different dataset: real tables that packages ship, end to end through the
command (inferred recipe, fit, predictions, workbook, LibreOffice's verify).

* penguins.csv (palmerpenguins, CC0; shipped in data/): sex, a binary target with missing
  values, from categories (species, island, year) and numbers;
* scikit-learn's diabetes table: disease progression, a number;
* scikit-learn's wine table: three cultivars, as classes, and one against the rest with --positive;
* scikit-learn's breast-cancer table: 30 correlated measurements, where the lesson's
  learning rate would make the Descent sheets diverge.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import NO_BASELINES
from titanic_reg import cli

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "data" / "penguins.csv"
QUICK = ["--epochs", "300", "--restarts", "16", "--descent-steps", "5"]

pytestmark = pytest.mark.libreoffice


def fit(*args):
    """The command, with --verify (LibreOffice); then the workbook it wrote verified in Gnumeric too."""
    result = CliRunner().invoke(cli.main, ["fit", *map(str, args)])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "OK: every cached value matches the recalculation" in result.stdout, result.stdout
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines() if line), result.stderr
    from tests.conftest import engine_or_fail

    engine_or_fail("gnumeric")
    written = [Path(line.removeprefix("wrote ")) for line in result.stdout.splitlines()
               if line.startswith("wrote ") and line.endswith(".xlsx")]
    assert len(written) == 1, result.stdout
    again = CliRunner().invoke(cli.main, ["verify", str(written[0]), "--engine", "gnumeric"])
    assert again.exit_code == 0 and " in Gnumeric;" in again.stdout, again.stdout + again.stderr
    return result


def sklearn_csv(tmp_path, loader, name, target_names=None) -> Path:
    frame = loader(as_frame=True).frame
    if target_names is not None:
        frame["target"] = [target_names[int(i)] for i in frame["target"]]
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_penguins_sex(tmp_path, soffice):
    """Binary text target with missing values; categories; a test file of new penguins."""
    rows = PENGUINS.read_text(encoding="utf-8").splitlines()
    (tmp_path / "penguins_train.csv").write_text("\n".join(rows[:301]) + "\n", encoding="utf-8")
    (tmp_path / "penguins_test.csv").write_text("\n".join([rows[0]] + rows[301:]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = fit(tmp_path / "penguins_train.csv", "--target", "sex", "--out", out, "--verify", *QUICK, *NO_BASELINES)
    assert "11 rows without a target" in result.stderr  # of the first 300 penguins
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"]["positive"] in ("male", "female") and metrics["rows"]["no_target"] == 11
    assert metrics["rows"]["test"] == 44
    assert {"species_Gentoo", "island_Dream", "bill_depth_mm"} <= set(metrics["features"])
    for name in ("linear", "two_relu"):
        assert metrics["models"][name]["valid_acc"] > 0.8, name  # from body measurements, sex is easy
    assert metrics["baselines"]["majority"]["train_acc"] < 0.55
    assert metrics["models"]["linear"]["optimum_gap"] == pytest.approx(0, abs=1e-9)
    with open(out / "predictions.csv", newline="") as fh:
        predicted = list(csv.DictReader(fh))
    assert len(predicted) == 44 and set(predicted[0]) == {"row", "prediction", "score"}
    assert {p["prediction"] for p in predicted} <= {"male", "female"}
    assert [int(p["row"]) for p in predicted] == list(range(2, 46))  # the test file's own rows
    assert all((float(p["score"]) > 0.5) == (p["prediction"] == metrics["target"]["positive"]) for p in predicted)
    recipe = (out / "recipe.toml").read_text()
    assert "[inputs.species]" in recipe and "[target]" in recipe
    # The recipe written beside the outputs fits the same again.
    again = tmp_path / "again"
    fit(tmp_path / "penguins_train.csv", "--recipe", out / "recipe.toml", "--out", again, "--verify", *QUICK,
        *NO_BASELINES, "--test", tmp_path / "penguins_test.csv")
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (out, again))
    assert second["models"]["linear"]["params"] == first["models"]["linear"]["params"]
    assert (again / "predictions.csv").read_text() == (out / "predictions.csv").read_text()


def test_diabetes_is_a_number(tmp_path, soffice):
    from sklearn.datasets import load_diabetes

    data = sklearn_csv(tmp_path, lambda **k: load_diabetes(scaled=False, **k), "diabetes.csv")
    out = tmp_path / "out"
    fit(data, "--target", "target", "--out", out, "--verify", *QUICK)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"]["kind"] == "number" and 70 < metrics["target"]["sd"] < 85
    linear = metrics["models"]["linear"]
    # Least squares on ten measurements explains about half of the spread (the textbook figure).
    assert 0.45 < linear["train_r2"] < 0.6 and linear["valid_r2"] > 0.2
    assert linear["train_rmse"] == pytest.approx(linear["train_mse"] ** 0.5)
    sk = metrics["baselines"]["sklearn_linear"]
    assert linear["train_mse"] == pytest.approx(sk["train_mse"], rel=1e-9)
    assert metrics["baselines"]["mean"]["train_r2"] == pytest.approx(0, abs=1e-12)
    assert (out / "diabetes.xlsx").is_file() and not (out / "predictions.csv").exists()


def test_wine_one_cultivar_against_the_rest(tmp_path, soffice):
    from sklearn.datasets import load_wine

    data = sklearn_csv(tmp_path, load_wine, "wine.csv", load_wine().target_names)
    classes = CliRunner().invoke(cli.main, ["fit", str(data), "--target", "target", "--out", str(tmp_path / "classes"),
                                            *QUICK, *NO_BASELINES])
    assert classes.exit_code == 0, classes.stderr
    assert "not written yet" not in classes.stderr and (tmp_path / "classes" / "wine.xlsx").is_file()
    out = tmp_path / "out"
    fit(data, "--target", "target", "--positive", "class_0", "--out", out, "--verify", *QUICK, *NO_BASELINES)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"] == {"column": "target", "kind": "binary", "positive": "class_0", "negative": "rest"}
    assert metrics["models"]["linear"]["valid_acc"] > 0.9


def test_breast_cancer_descends_where_the_lessons_step_would_diverge(tmp_path, soffice):
    """30 correlated measurements: plain gradient descent at the lesson's 0.1 blew the loss
    up to 1e15 in 50 steps (and the workbook failed verify on the blown-up rows). The
    Descent sheets step at half the stable limit instead, and their loss falls."""
    from sklearn.datasets import load_breast_cancer

    data = sklearn_csv(tmp_path, load_breast_cancer, "cancer.csv", load_breast_cancer().target_names)
    out = tmp_path / "out"
    fit(data, "--target", "target", "--out", out, "--verify", *QUICK, *NO_BASELINES)
    metrics = json.loads((out / "metrics.json").read_text())
    rates = metrics["settings"]["descent"]["lr"]
    assert 0 < rates["two_relu"] < rates["linear"] < 0.1
    assert metrics["models"]["linear"]["valid_acc"] > 0.9
    import openpyxl

    sheet = openpyxl.load_workbook(out / "cancer.xlsx", data_only=True)["DescentLinear"]
    losses = [sheet.cell(6 + i, 2).value for i in range(6)]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_mnist37_the_shipped_3s_and_7s():
    """datasets.mnist37(): the file data/README.md describes (its md5), 500 3s then 500 7s as
    784 whole-number pixels, labelled truly: fastbook's pixel-similarity baseline (distance to
    each digit's mean image) tells the held-back 3s from the 7s."""
    import hashlib

    import numpy as np

    from titanic_reg import datasets

    data = datasets.mnist37()
    assert data.target == "digit" and data.test_path is None and data.test is None
    assert data.train_path == datasets.folder() / "mnist37.csv"
    assert repr(data) == f"Dataset('mnist37', train_path={str(data.train_path)!r}, target='digit')"
    md5 = hashlib.md5(data.train_path.read_bytes()).hexdigest()
    assert f"`{md5}`" in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    frame = data.train
    assert list(frame.columns) == [f"p{i}" for i in range(784)] + ["digit"]
    assert frame["digit"].tolist() == [3] * 500 + [7] * 500
    pixels = frame.iloc[:, :784].to_numpy()
    assert pixels.dtype == np.int64 and pixels.min() == 0 and pixels.max() == 255
    assert (pixels.max(axis=1) >= 200).all()  # every image has ink
    threes, sevens = pixels[:500].astype(float), pixels[500:].astype(float)
    mean3, mean7 = threes[:400].mean(axis=0), sevens[:400].mean(axis=0)
    held = np.vstack([threes[400:], sevens[400:]])
    said_3 = np.abs(held - mean3).mean(axis=1) < np.abs(held - mean7).mean(axis=1)
    accuracy = (said_3 == np.r_[np.ones(100, bool), np.zeros(100, bool)]).mean()
    assert accuracy > 0.9, accuracy
