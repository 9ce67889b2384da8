"""fit()'s arguments from Python: refused at the boundary, in one line naming the argument
(what the CLI's option types do for the command), before anything is read or trained."""
import pandas as pd
import pytest

import titanic_reg
from titanic_reg.errors import OptionError

CASES = [
    ({"descent_steps": 10**9}, "descent_steps: must be 0 to 1,000, not 1,000,000,000"),
    ({"descent_steps": -1}, "descent_steps: must be 0 to 1,000, not -1"),
    ({"lr": True}, "lr: must be a number, not True"),
    ({"lr": "0.1"}, "lr: must be a number, not '0.1'"),
    ({"restarts": True}, "restarts: must be a whole number, not True"),
    ({"restarts": 0}, "restarts: must be 1 to 1,024, not 0"),
    ({"seed": 2**70}, "seed: must be 0 to 4,294,967,295, not 1,180,591,620,717,411,303,424"),
    ({"seed": -1}, "seed: must be 0 to 4,294,967,295, not -1"),
    ({"epochs": 2.5}, "epochs: must be a whole number, not 2.5"),
    ({"epochs": 10**8}, "epochs: must be 1 to 100,000, not 100,000,000"),
    ({"valid_pct": False}, "valid_pct: must be a number, not False"),
    ({"test_path": [{"a": 1}]}, 'test_path: must be a DataFrame or the path of a CSV file (or None, or "auto"), not a list'),
]


@pytest.mark.parametrize(("kwargs", "message"), CASES, ids=[next(iter(k)) + "=" + repr(next(iter(k.values())))[:20]
                                                             for k, _ in CASES])
def test_a_bad_argument_is_refused_at_once_by_its_name(kwargs, message):
    with pytest.raises(OptionError) as caught:
        titanic_reg.fit("data/train.csv", **kwargs)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_training_rows_are_a_dataframe_or_a_path():
    with pytest.raises(OptionError, match="^train_path: must be a DataFrame or the path of a CSV file, not a dict$"):
        titanic_reg.fit(pd.read_csv("data/train.csv").to_dict())


# --------------------------------------------------------------------------- Python's words, the caller's line
PENGUINS = "data/penguins.csv"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"lr": -1.0}, "lr: the learning rate must be a positive number, not -1.0"),
    ({"valid_pct": 1.5}, "valid_pct: must be at least 0 and below 1, not 1.5"),
    ({"device": "tpu"}, "device: must be 'auto', 'cpu' or 'cuda', not 'tpu'"),
    ({"models": "linear,nope"}, "models: "),
    ({"submit_model": "nope", "epochs": 5, "restarts": 2}, "submit_model: 'nope' is no model of this run"),
])
def test_errors_name_pythons_arguments_not_the_commands_options(kwargs, message):
    with pytest.raises(OptionError) as caught:
        titanic_reg.fit("data/train.csv", **kwargs)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "--" not in str(caught.value)


def test_a_problem_with_the_data_suggests_a_python_argument():
    from titanic_reg.errors import InputError

    with pytest.raises(InputError) as caught:
        titanic_reg.fit(PENGUINS, target="species", positive="Emperor")
    assert "positive='Emperor' is not a value of the target" in str(caught.value)
    with pytest.raises(InputError, match=r"which column is to be predicted\? Name it with target=\.\.\. \(or give "
                                         r"a recipe\)"):
        titanic_reg.fit(PENGUINS)


def test_the_same_problem_on_the_command_line_names_the_option():
    from click.testing import CliRunner

    from titanic_reg import cli

    result = CliRunner().invoke(cli.main, ["fit", PENGUINS, "--target", "species", "--positive", "Emperor",
                                           "--no-workbook"])
    assert result.exit_code == 1
    assert "--positive Emperor is not a value of the target" in result.stderr


def test_asking_for_a_missing_gpu_names_the_argument():
    import torch

    from titanic_reg.errors import TrainingError

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(TrainingError, match=r"^device='cuda' was asked for, but torch .* sees no CUDA GPU; use "
                                            r"device='cpu' \(or 'auto'\)$"):
        titanic_reg.fit("data/train.csv", device="cuda")


def test_a_warning_points_at_the_callers_line():
    import warnings

    from titanic_reg.errors import InputWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        titanic_reg.fit("data/train.csv", epochs=5, restarts=2, descent_steps=0)  # test.csv lacks a Fare
    ours = [w for w in caught if issubclass(w.category, InputWarning)]
    assert ours and all(w.filename == __file__ for w in ours), [(w.filename, w.lineno) for w in ours]


# --------------------------------------------------------------------------- issue 21: no raw TypeError, AttributeError or OSError
@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((None,), {}, "train_path: must be a DataFrame or the path of a CSV file, not None"),
    ((PENGUINS,), {"target": 5}, "target: must be a column's name (text), not 5"),
    ((PENGUINS,), {"recipe": {"target": {"column": "sex"}}},
     "recipe: must be the path of a recipe file or a Recipe (titanic_reg.recipe.load), not a dict"),
    ((PENGUINS,), {"target": "sex", "progress": 5}, "progress: must be True, False, None or a function progress(name, total), not 5"),
    ((PENGUINS,), {"target": "sex", "positive": ["male"]},
     "positive: must be a class of the target (text or a number), not ['male']"),
    ((PENGUINS,), {"target": "sex", "models": 5}, "models: must be model names, comma-separated text or a list (or None: the recipe's), not 5"),
])
def test_a_wrong_kind_of_argument_is_an_option_error_naming_it(args, kwargs, message):
    with pytest.raises(OptionError) as caught:
        titanic_reg.fit(*args, **kwargs)
    assert str(caught.value) == message


@pytest.fixture(scope="module")
def small_result():
    return titanic_reg.fit(PENGUINS, target="sex", epochs=2, restarts=1, descent_steps=1, models="linear",
                           baselines=None)


@pytest.mark.parametrize(("where", "kwargs", "message"), [
    (5, {}, "path: must be a path (text or a pathlib.Path), not 5"),
    ("{tmp}/no/such/folder/p.xlsx", {}, "path: the folder '{tmp}/no/such/folder' does not exist"),
    ("{tmp}/" + "p" * 201 + ".xlsx", {}, "path: a name of 201 bytes before .xlsx is too long for a file: at most 200"),
    ("{tmp}/p.xlsx", {"max_rows": 0}, "max_rows: must be None or a whole number from 10 to 1,000,000, not 0"),
    ("{tmp}/p.xlsx", {"max_rows": 2.5}, "max_rows: must be None or a whole number from 10 to 1,000,000, not 2.5"),
])
def test_to_excel_refuses_what_it_cannot_write_by_the_arguments_name(small_result, tmp_path, where, kwargs, message):
    path = where.format(tmp=tmp_path) if isinstance(where, str) else where
    with pytest.raises(OptionError) as caught:
        small_result.to_excel(path, **kwargs)
    assert str(caught.value).startswith(message.format(tmp=tmp_path)), str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_to_excel_writes_the_longest_name_it_takes_and_save_refuses_a_non_path(small_result, tmp_path):
    path = tmp_path / ("p" * 200 + ".xlsx")
    assert small_result.to_excel(path, max_rows=10) == path and path.is_file()
    with pytest.raises(OptionError, match=r"^folder: must be a path \(text or a pathlib.Path\), not None$"):
        small_result.save(None)
