"""What a notebook does with a fit: look at it, predict new rows, write and read the workbook."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import titanic_reg
from titanic_reg import datasets
from titanic_reg.errors import InputError, InputWarning, OptionError

QUICK = {"epochs": 50, "restarts": 8, "descent_steps": 5, "baselines": None}
PASSENGER = {"PassengerId": 892, "Pclass": 3, "Name": "Kelly, Mr. James", "Sex": "male", "Age": 34.5, "SibSp": 0,
             "Parch": 0, "Ticket": "330911", "Fare": 7.8292, "Cabin": None, "Embarked": "Q"}


@pytest.fixture(scope="module")
def titanic():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return titanic_reg.fit(datasets.titanic().train_path, models="linear,two_relu,mlp:8", **QUICK)


@pytest.fixture(scope="module")
def penguins():
    data = datasets.penguins()
    return titanic_reg.fit(data.train_path, target=data.target, test_path=data.train_path, **QUICK)


def test_every_result_object_has_a_short_repr(titanic):
    shown = {"result": repr(titanic), **{f"runs[{k!r}]": repr(v) for k, v in titanic.runs.items()},
             "fitted": repr(titanic.fitted), "recipe": repr(titanic.recipe), "data": repr(titanic.data),
             "test": repr(titanic.test), "dataset": repr(datasets.titanic())}
    assert len(shown["result"]) < 3000, shown["result"]
    for name, text in shown.items():
        assert not re.search(r"tensor\(\[[-\d.e]+, [-\d.e]+, [-\d.e]+, [-\d.e]+, [-\d.e]+, [-\d.e]+, [-\d.e]+", text), \
            (name, text)
        if name != "result":
            assert len(text) < 300 and "\n" not in text, (name, text)
    # The summary is the comparison table: every model with its validation score.
    for model, scores in titanic.metrics.items():
        assert model in shown["result"]
        assert f"{scores['valid_mse']:.4f}" in shown["result"], model
    assert "ModelRun('two_relu', Adam, Trained('two_relu', train_mse=" in shown["runs['two_relu']"]


def test_the_rich_view_is_the_table_and_the_loss_curves(titanic):
    html = titanic._repr_html_()
    assert len(html) < 300_000
    assert html.count("<tr") == len(titanic.metrics) + 2  # the header's two rows, then one per model
    assert "data:image/png;base64," in html
    frame = titanic.scores
    assert list(frame.index[:3]) == ["linear", "two_relu", "mlp:8"]
    assert frame.loc["two_relu", "valid_mse"] == titanic.metrics["two_relu"]["valid_mse"]
    assert frame.loc["mlp:8", "params"] == titanic.runs["mlp:8"].params.numel()


def test_predicting_the_test_file_gives_the_submission(titanic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        again = titanic.predict(datasets.titanic().test_path, model=titanic.submit_model)
    assert list(again.columns) == ["PassengerId", "prediction", "score"]
    assert again["prediction"].dtype.kind == "i"  # Survived's classes, 0 and 1, stay numbers
    assert (again["PassengerId"] == titanic.predictions["PassengerId"]).all()
    assert (again["prediction"] == titanic.predictions["Survived"]).all()


def test_a_new_passenger_as_a_dict_a_frame_or_a_file_is_predicted_alike(titanic, tmp_path):
    one = titanic.predict(PASSENGER)
    frame = titanic.predict(pd.DataFrame([PASSENGER]))
    path = tmp_path / "one.csv"
    pd.DataFrame([PASSENGER]).to_csv(path, index=False)
    from_file = titanic.predict(path)
    assert one["score"].item() == frame["score"].item() == from_file["score"].item()
    # The same passenger is the test file's first row: the same score as predicting all of it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        everyone = titanic.predict(datasets.titanic().test)
    assert one["score"].item() == pytest.approx(everyone["score"].iat[0], abs=1e-15)
    # Without an ID column, a list's rows are numbered by position from 0, a CSV's by line.
    anonymous = {k: v for k, v in PASSENGER.items() if k != "PassengerId"}
    assert titanic.predict([anonymous, anonymous])["row"].tolist() == [0, 1]
    pd.DataFrame([anonymous] * 2).to_csv(tmp_path / "two.csv", index=False)
    assert titanic.predict(tmp_path / "two.csv")["row"].tolist() == [2, 3]


def test_new_rows_are_checked_as_a_file_is(titanic):
    with pytest.raises(InputError, match=r"^DataFrame, row 0, column Sex: 'M' is not one of male, female"):
        titanic.predict({**PASSENGER, "Sex": "M"})
    with pytest.raises(InputError, match=r"names column Embarked, which the DataFrame lacks"):
        titanic.predict({k: v for k, v in PASSENGER.items() if k != "Embarked"})
    with pytest.raises(OptionError, match=r"^model: 'gbm' is not one of this result's models"):
        titanic.predict(PASSENGER, model="gbm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        titanic.predict({**PASSENGER, "Fare": None})  # no training Fare was missing
    said = [w for w in caught if issubclass(w.category, InputWarning)]
    assert len(said) == 1 and "column Fare: 1 row missing" in str(said[0].message)
    assert said[0].filename == __file__


def test_a_number_target_predicts_in_its_own_units(penguins):
    again = penguins.predict(datasets.penguins().train)
    assert np.allclose(again["score"], penguins.predictions["score"], rtol=0, atol=1e-12)
    assert (again["prediction"] == penguins.predictions["prediction"]).all()


def test_to_excel_and_save_write_what_the_command_writes(titanic, tmp_path):
    path = titanic.to_excel(tmp_path / "mine.xlsx")
    linear = titanic_reg.read_sheet(path, "Linear")
    torch_preds = titanic.model_list[0].predict(titanic.X, titanic.runs["linear"].params[None])[0].numpy()
    assert np.allclose(linear["Linear"], torch_preds, rtol=0, atol=1e-12)
    with pytest.raises(OptionError, match="ends in .xlsx"):
        titanic.to_excel(tmp_path / "mine.csv")
    written = titanic.save(tmp_path / "out")
    assert sorted(p.name for p in written) == ["compare.png", "loss.png", "metrics.json", "recipe.toml",
                                               "submission.csv", "titanic.xlsx"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)


def test_every_table_sheet_reads_back_with_its_own_header(titanic, tmp_path):
    path = titanic.to_excel(tmp_path / "t.xlsx")
    sheets = pd.ExcelFile(path, engine="calamine").sheet_names
    n = len(titanic.data)
    expected = {"Data": n, "Linear": n, "TwoReLU": n, "MLP8": n, "MatMul": n, "Test": len(titanic.test),
                "Compare": 3, "Losses": 51, "DescentLinear": 6, "Params": len([t for m in titanic.model_list
                                                                              for t in m.tensors(10)])}
    for sheet in sheets:
        if sheet in ("About", "Charts"):
            with pytest.raises(OptionError, match="not a table"):
                titanic_reg.read_sheet(path, sheet)
            continue
        frame = titanic_reg.read_sheet(path, sheet)
        names = [str(c) for c in frame.columns]
        assert not [c for c in names if c.startswith("Unnamed") or re.search(r"\.\d+$", c) and "Lin" not in c
                    and "ReLU" not in c], (sheet, names)
        assert len(set(names)) == len(names)
        if sheet in expected:
            assert len(frame) >= expected[sheet] if sheet == "Params" else len(frame) == expected[sheet], sheet
    # The one-argument way for the row sheets: pandas keeps every name as written.
    data = pd.read_excel(path, sheet_name="Data", header=4, engine="calamine")
    assert {"SibSp", "SibSp (feature)", "Parch", "Parch (feature)"} <= set(data.columns)
    assert not [c for c in data.columns if re.search(r"\.\d+$", str(c))]
    assert (data["Survived"].to_numpy() == titanic.data.target.astype(float)).all()


def test_the_lesson_results_show_their_numbers_not_their_tensors():
    from titanic_reg import lesson

    quad, relus = lesson.fit_quad(), lesson.fit_relus(steps=50)
    assert repr(quad).startswith(f"QuadFit(a={quad.a:.6g}, b={quad.b:.6g}, c={quad.c:.6g}, loss=")
    assert "261 steps at lr=0.1, converged" in repr(quad)
    assert repr(relus).startswith("ReluFit(6 ReLUs, loss=") and "after 50 steps" in repr(relus)
    assert len(repr(quad)) < 300 and len(repr(relus)) < 400


def test_a_dataframe_fits_as_its_csv_does():
    """fit() takes DataFrames for the training and the test rows, read as their CSVs would be."""
    data = datasets.titanic()
    options = dict(models="linear,two_relu", epochs=20, restarts=2, descent_steps=0, baselines=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        from_files = titanic_reg.fit(data.train_path, data.test_path, **options)
        from_frames = titanic_reg.fit(data.train, data.test, **options)
    assert from_frames.recipe.name == from_files.recipe.name == "titanic"  # the lesson's recipe, by its columns
    for name in ("linear", "two_relu"):
        assert from_frames.metrics[name]["valid_mse"] == from_files.metrics[name]["valid_mse"]
        assert from_frames.runs[name].params.tolist() == from_files.runs[name].params.tolist()
    assert from_frames.predictions.equals(from_files.predictions)
    assert from_frames.provenance["train"] == "DataFrame" and len(from_frames.provenance["sha256"]["test"]) == 64


def test_baselines_none_fits_only_the_recipes_rules():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        result = titanic_reg.fit(datasets.titanic().train_path, models="linear", baselines=None, descent_steps=0)
    assert list(result.baselines) == ["everyone_dies", "women_survive"]
    assert not any(name.startswith("sklearn") for name in result.metrics)
    with pytest.raises(OptionError, match="baselines: must be 'all' or None"):
        titanic_reg.fit(datasets.titanic().train_path, baselines="some")


def test_save_refuses_a_folder_where_an_output_would_replace_the_training_data(tmp_path):
    """The data as folder/metrics.json (issue 21): save() would have replaced it with the metrics."""
    data = tmp_path / "metrics.json"
    data.write_bytes(datasets.titanic().train_path.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        result = titanic_reg.fit(data, models="linear", baselines=None, descent_steps=0, epochs=5, restarts=1)
    before = data.read_bytes()
    with pytest.raises(OptionError, match="is the training data, which this run reads"):
        result.save(tmp_path, workbook=False)
    assert data.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
