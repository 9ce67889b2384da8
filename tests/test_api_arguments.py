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
    ({"test_path": pd.DataFrame({"a": [1]})}, 'test_path: must be the path of a CSV file (or None, or "auto"), not a DataFrame'),
]


@pytest.mark.parametrize(("kwargs", "message"), CASES, ids=[next(iter(k)) + "=" + repr(next(iter(k.values())))[:20]
                                                             for k, _ in CASES])
def test_a_bad_argument_is_refused_at_once_by_its_name(kwargs, message):
    with pytest.raises(OptionError) as caught:
        titanic_reg.fit("data/train.csv", **kwargs)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_a_dataframe_is_no_training_path():
    with pytest.raises(OptionError, match="^train_path: must be the path of a CSV file, not a DataFrame$"):
        titanic_reg.fit(pd.read_csv("data/train.csv"))
