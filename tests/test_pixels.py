"""Images as tables (issue 19): the pixel rule, the pixel block in the recipe, pixel similarity,
and the defaults on the shipped 3s and 7s."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import titanic_reg
from titanic_reg import datasets
from titanic_reg.errors import InputWarning
from titanic_reg.infer import infer
from titanic_reg.recipe import dumps, loads
from titanic_reg.table import read_table


def _write(tmp_path, frame: pd.DataFrame, name="t.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return read_table(path)


def _kinds(recipe) -> set[str]:
    return {t.kind for t in recipe.inputs}


def test_the_shipped_digits_are_one_block_of_784_pixels_over_255():
    recipe = infer(read_table(datasets.mnist37().train_path), "digit")
    assert _kinds(recipe) == {"pixels"} and len(recipe.inputs) == 784
    first = recipe.inputs[0]
    assert (first.scale, first.shape, first.block) == (255.0, (28, 28), "pixels")
    text = dumps(recipe)
    assert text.count("[inputs.") == 1 and 'columns = "p0..p783"' in text and "shape = [28, 28]" in text
    assert "never vary" in first.reason  # constant pixels are reported once, as a count
    assert len(text) < 3_000  # one block, not 784 entries


@pytest.mark.parametrize("side, top, names", [
    (8, 16, "pixel_{}"),  # scikit-learn's digits: 8 x 8, 0 to 16
    (16, 1.0, "x{}y"),  # fractions from 0 to 1, other names
    (10, 255, "c{}"),  # 100 columns: 10 x 10
])
def test_the_rule_holds_on_pixel_tables_it_has_not_seen(tmp_path, side, top, names):
    rng = np.random.default_rng(side)
    n = side * side
    values = rng.uniform(0, top, (60, n))
    values = values.round() if isinstance(top, int) else values
    frame = pd.DataFrame(values, columns=[names.format(i) for i in range(n)])
    frame["label"] = rng.integers(0, 2, 60)
    recipe = infer(_write(tmp_path, frame), "label")
    assert _kinds(recipe) == {"pixels"}
    assert recipe.inputs[0].shape == (side, side) and recipe.inputs[0].scale == (top if top != 1.0 else 1)


def test_an_image_that_is_not_square_is_one_row_of_pixels(tmp_path):
    frame = pd.DataFrame(np.random.default_rng(0).integers(0, 256, (40, 600)), columns=[f"v{i}" for i in range(600)])
    frame["y"] = np.arange(40) % 2
    recipe = infer(_write(tmp_path, frame), "y")
    assert recipe.inputs[0].shape == (1, 600) and "not a square" in recipe.inputs[0].reason


@pytest.mark.parametrize("case", ["few columns", "mixed ranges", "negative", "missing", "small range"])
def test_the_rule_does_not_fire_on_ordinary_tables(tmp_path, case):
    rng = np.random.default_rng(1)
    width = 63 if case == "few columns" else 80
    values = rng.integers(0, 256, (50, width)).astype(float)
    if case == "mixed ranges":
        values[:, ::3] *= 1000  # sensors on different scales share no range
    elif case == "negative":
        values[:, ::2] -= 128
    elif case == "small range":
        values = rng.integers(0, 20, (50, width)).astype(float)  # no pixel range's upper half
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(width)])
    if case == "missing":
        frame = frame.astype(object)
        frame.iloc[::2, ::2] = ""
    frame["y"] = np.arange(50) % 2
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        recipe = infer(_write(tmp_path, frame), "y")
    assert "pixels" not in _kinds(recipe)
    assert not [w for w in said if "pixels" in str(w.message)]  # a table that is no image: not a word of one


@pytest.mark.parametrize("spoil", ["missing", "negative"])
def test_an_image_spoilt_by_a_few_cells_is_read_as_columns_and_said_once(tmp_path, spoil):
    """Five missing cells (or one -1) among 64 pixels of 0-16 turn the rule off: the table is
    read column by column, and one warning names the cells' columns."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.integers(0, 17, (80, 64)), columns=[f"px{i}" for i in range(64)]).astype(object)
    if spoil == "missing":
        frame.iloc[[3, 9, 20, 41, 60], [11, 15, 15, 16, 16]] = ""
    else:
        frame.iloc[7, 10] = -1
    frame["y"] = np.arange(80) % 2
    with pytest.warns(InputWarning) as said:
        recipe = infer(_write(tmp_path, frame), "y")
    assert "pixels" not in _kinds(recipe)
    (line,) = [str(w.message) for w in said if "pixels" in str(w.message)]
    spoilt = "px11, px15, px16 have" if spoil == "missing" else "px10 has"
    assert line.endswith(f"t.csv: 64 number columns look like an image's pixels, but {spoilt} missing or negative "
                         "values: read as ordinary columns, not as one image; fill or correct those cells to read "
                         "the image")


@pytest.mark.parametrize("data", ["train.csv", "penguins.csv"])
def test_shipped_tables_keep_their_recipes(data):
    table = read_table(f"data/{data}")
    recipe = infer(table, "Survived" if data == "train.csv" else "sex")
    assert "pixels" not in _kinds(recipe) and recipe.models is None


def test_a_pixel_block_reads_back_and_can_be_edited():
    recipe = infer(read_table(datasets.mnist37().train_path), "digit")
    text = dumps(recipe).replace("scale = 255", "scale = 256")
    again = loads(text)
    assert len(again.inputs) == 784 and {t.scale for t in again.inputs} == {256.0}
    assert [t.column for t in again.inputs] == [f"p{i}" for i in range(784)]
    with pytest.raises(Exception, match="shape"):
        loads(text.replace("shape = [28, 28]", "shape = [28, 27]"))
    with pytest.raises(Exception, match="columns"):
        loads(text.replace('columns = "p0..p783"', 'columns = "p0..q783"'))


def test_pixel_similarity_is_the_chapters_by_hand():
    from titanic_reg import baselines

    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (40, 6))
    y = (rng.uniform(size=40) > 0.5).astype(float)
    scores, predict = baselines.run(X[:30], y[:30], X[30:], y[30:], seed=0, sklearn=False, pixels=[0, 1, 2, 3])
    mean0, mean1 = X[:30][y[:30] == 0][:, :4].mean(axis=0), X[:30][y[:30] == 1][:, :4].mean(axis=0)
    for name, dist in (("pixel_l1", lambda a, m: np.abs(a - m).mean(axis=1)),
                       ("pixel_l2", lambda a, m: np.sqrt(((a - m) ** 2).mean(axis=1)))):
        by_hand = (dist(X[30:, :4], mean1) < dist(X[30:, :4], mean0)).astype(float)
        assert predict[name](X[30:]).tolist() == by_hand.tolist()
        assert scores[name]["valid_acc"] == pytest.approx((by_hand == y[30:]).mean())
        assert scores[name]["n_params"] == 8  # two mean images


@pytest.mark.slow
def test_the_default_models_on_the_digits_match_the_chapter_and_scikit_learn():
    """Without options: at least pixel similarity's accuracy, within 0.01 of LogisticRegression."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        result = titanic_reg.fit(datasets.mnist37().train_path, target="digit", descent_steps=0)
    m = result.metrics
    assert list(result.runs) == ["logistic", "linear"] and result.recipe.models_reason
    best = max(m[name]["valid_acc"] for name in result.runs)
    assert best >= max(m["pixel_l1"]["valid_acc"], m["pixel_l2"]["valid_acc"])
    assert best >= m["sklearn_logistic"]["valid_acc"] - 0.01


def test_the_chapters_loss_trains_the_sigmoid_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        result = titanic_reg.fit(datasets.mnist37().train_path, target="digit", models="logistic", loss="mnist",
                                 epochs=100, restarts=1, baselines=None, descent_steps=3)
    run = result.runs["logistic"]
    assert run.config.loss == "mnist" and run.loss.name == "mnist"
    history = run.trained.history
    assert history[-1] < history[0] and result.metrics["logistic"]["valid_acc"] > 0.9
    view = result.workbook_view(200)
    assert view.runs["logistic"].descent.losses[-1] < view.runs["logistic"].descent.losses[0]


def test_minibatches_are_the_chapters_loop():
    """Each epoch a seeded pass over the rows in batches, a step each; a batch of every row is
    the full-batch step; the history is the loss on every row after each epoch."""
    import torch

    from titanic_reg.models import get
    from titanic_reg.pipeline import model_config
    from titanic_reg.train import initial_params, train

    gen = torch.Generator().manual_seed(0)
    X = torch.cat([torch.rand(50, 5, generator=gen, dtype=torch.float64), torch.ones(50, 1, dtype=torch.float64)], 1)
    y = (X[:, 0] > 0.5).to(torch.float64)
    model = get("logistic")
    cfg = model_config(model, epochs=4, lr=1.0, optimizer="sgd", restarts=1, loss="mnist", batch_size=16)
    got = train(model, X, y, cfg)
    assert len(got.history) == 5 and got.history == train(model, X, y, cfg).history  # seeded
    # By hand: torch.randperm with the seed's generator, one step per batch of 16.
    w = initial_params(model, X, cfg)[0].clone().requires_grad_(True)
    order = torch.Generator().manual_seed(cfg.seed)
    for _ in range(4):
        for rows in torch.randperm(50, generator=order).split(16):
            p = model.predict(X[rows], w[None])[0]
            (g,) = torch.autograd.grad(torch.where(y[rows] == 1, 1 - p, p).mean(), w)
            with torch.no_grad():
                w -= 1.0 * g
    assert got.params.tolist() == pytest.approx(w.detach().tolist(), abs=1e-12)
    whole = model_config(model, epochs=4, lr=1.0, optimizer="sgd", restarts=1, loss="mnist", batch_size=50)
    full = model_config(model, epochs=4, lr=1.0, optimizer="sgd", restarts=1, loss="mnist")
    assert train(model, X, y, whole).params.tolist() == train(model, X, y, full).params.tolist()
    assert model_config(get("linear"), batch_size=16).optimizer == "sgd"  # no conjugate gradient in batches
    assert model_config(get("linear"), loss="mnist").optimizer == "adam"  # nor on a loss that is no quadratic
    assert model_config(get("linear")).optimizer == "cg"


def test_the_about_sheet_says_the_block_and_the_models_once(tmp_path):
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        result = titanic_reg.fit(datasets.mnist37().train_path, target="digit", epochs=5, restarts=1,
                                 baselines=None, descent_steps=2)
    path = result.to_excel(tmp_path / "m.xlsx", max_rows=20)
    about = openpyxl.load_workbook(path)["About"]
    labels = [row[0].value for row in about.iter_rows() if row[0].value]
    recipe = labels[labels.index("target: digit"):labels.index("Features")]
    assert "pixels (784 columns, p0 to p783)" in recipe and "p0" not in recipe and len(recipe) < 10
    said = [c.value for c in next(r for r in about.iter_rows() if r[0].value == "models")]
    assert said[1].startswith("logistic, linear unless --models says otherwise: the inputs are an image (784 pixels)")


def test_an_image_table_with_many_rows_still_starts_with_the_chapters_model(tmp_path):
    """The pixel block, not the table's width, decides: 64 pixels over 400 rows is not wide
    (64 x 4 < 320 training rows), yet the default models are the chapter's; an ordinary table
    as tall keeps the lesson's."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.integers(0, 17, (400, 64)), columns=[f"pixel_{i}" for i in range(64)])
    frame["label"] = rng.integers(0, 2, 400)
    recipe = infer(_write(tmp_path, frame), "label")
    assert recipe.models == ["logistic", "linear"] and "image" in recipe.models_reason
    table = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400), "label": rng.integers(0, 2, 400)})
    plain = infer(_write(tmp_path, table, "plain.csv"), "label")
    assert not plain.models and not plain.models_reason


def test_a_pixel_that_tells_the_classes_apart_is_no_leakage_but_another_column_is(tmp_path):
    """A pixel that alone tells the classes apart is the image doing its work (and the block
    cannot leave it out): no warning; a column beside the image that does the same is warned of."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.integers(0, 17, (120, 64)), columns=[f"px{i}" for i in range(64)])
    frame["label"] = rng.integers(0, 2, 120)
    frame["px9"] = frame["label"] * 16
    frame["after"] = np.where(frame["label"] == 1, "yes", "no")
    path = tmp_path / "img.csv"
    frame.to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        result = titanic_reg.fit(path, target="label", models="linear", baselines=None, descent_steps=0,
                                 epochs=5, progress=False)
    leaks = [str(w.message) for w in said if "alone it predicts" in str(w.message)]
    assert [leak.split("column ")[1].split(":")[0] for leak in leaks] == ["after"]
    assert [found["column"] for found in result.leakage] == ["after"]


def test_a_missing_pixel_under_a_pixel_recipe_names_its_row(tmp_path):
    from titanic_reg.errors import InputError

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.integers(0, 17, (60, 64)), columns=[f"px{i}" for i in range(64)])
    frame["label"] = rng.integers(0, 2, 60)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(dumps(infer(_write(tmp_path, frame), "label")))
    frame = frame.astype(object)
    frame.loc[[3, 7], "px11"] = ""
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    with pytest.raises(InputError) as caught:
        titanic_reg.fit(tmp_path / "gaps.csv", recipe=recipe, valid_pct=0, models="linear", baselines=None,
                        progress=False)
    assert str(caught.value).endswith("gaps.csv, row 5, column px11: missing (and in 1 more training row): "
                                      "every pixel of an image has a value")
