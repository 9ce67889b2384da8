"""The model registry: many ReLUs, hidden layers, and backpropagation by formula."""
import openpyxl
import pytest
import torch
from tests.helpers import copy_last_row_down
from python_calamine import CalamineWorkbook

import titanic_reg
from titanic_reg.sheets.descent_sheet import FIRST_PARAM, STEP0_ROW, left_out, sheet_name
from titanic_reg.sheets.recalc import recalculated
from titanic_reg.sheets.verify import verify
from titanic_reg.sheets.workbook import write_workbook
from titanic_reg import models as registry
from titanic_reg.descent import plain_descent
from titanic_reg.losses import MSE
from titanic_reg.pipeline import model_config
from titanic_reg.train import train

MANY = "linear,two_relu,logistic,relus:3,mlp:4,mlp:3-2,mlp:3:sigmoid"  # a member of every family


def test_every_family_is_trained_and_verified_here():
    """A new family joins MANY, so the workbook tests below recalculate its formulas and gradients."""
    import re

    for family in registry.FAMILIES:
        assert any(re.fullmatch(family.regex, name) for name in MANY.split(",")), family.pattern


@pytest.fixture(scope="module")
def many_fit():
    """Every family, briefly trained: the formulas, not the scores, are under test here."""
    return titanic_reg.fit("data/train.csv", models=MANY, epochs=60, restarts=4, descent_steps=4, baselines=None)


@pytest.fixture(scope="module")
def lesson_xy():
    r = titanic_reg.fit("data/train.csv", missing="drop", valid_pct=0, models="linear", descent_steps=0,
                        baselines=None)
    return r.X, r.y


def test_registry_names_and_refusals():
    assert registry.get("relus:4").size(10) == 40
    assert registry.get("mlp:8").size(10) == 8 * 10 + 8 + 1
    assert registry.get("mlp:8-4").size(10) == 8 * 10 + 4 * 8 + 4 + 4 + 1
    assert [t.name for t in registry.get("mlp:8-4").tensors(10)] == [
        "mlp8_4_W1", "mlp8_4_W2", "mlp8_4_b2", "mlp8_4_w3", "mlp8_4_b3"]
    for bad in ("relus:0", "mlp:", "mlp:8-0", "cnn", "relus:99999", "mlp:2-2-2-2"):
        with pytest.raises(ValueError):
            registry.get(bad)


def test_relus_2_is_the_two_relu_model(lesson_xy):
    X, y = lesson_xy
    cfg = model_config("two_relu", epochs=30)
    a = train(registry.get("two_relu"), X, y, cfg)
    b = train(registry.get("relus:2"), X, y, model_config("relus:2", epochs=30))
    assert torch.equal(a.params, b.params) and a.history == b.history


def test_batched_starts_equal_one_start_at_a_time(lesson_xy):
    """One tensor and one backward pass for every start: each start's path is its own."""
    X, y = lesson_xy
    model = registry.get("mlp:3-2")
    together = train(model, X, y, model_config(model, epochs=25, restarts=3, seed=7))
    from titanic_reg.train import initial_params
    P = initial_params(model, X, model_config(model, epochs=25, restarts=3, seed=7), y)
    for k in range(3):
        w = P[k:k + 1].clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=0.03)
        for _ in range(25):
            opt.zero_grad()
            MSE.mean(model.predict(X, w), y).sum().backward()
            opt.step()
        assert float(MSE.mean(model.predict(X, w.detach()), y)) == pytest.approx(together.restart_losses[k], abs=1e-12)


@pytest.mark.libreoffice
def test_every_model_verifies_and_its_gradients_by_formula_are_autograds(many_fit, tmp_path, soffice):
    path = write_workbook(many_fit, tmp_path / "many.xlsx")
    report = verify(path)
    assert report.ok, report.summary()
    view = many_fit.workbook_view()
    p = len(many_fit.features)
    with recalculated(path) as out:
        book = CalamineWorkbook.from_path(str(out))
        for model in many_fit.model_list:
            rows = book.get_sheet_by_name(sheet_name(model)).to_python(skip_empty_area=False)
            d = view.runs[model.name].descent
            size = model.size(p)
            X, y = view.X[:view.n_train], view.y[:view.n_train]
            for i in range(len(d.losses)):
                w = torch.as_tensor([rows[STEP0_ROW + i][FIRST_PARAM + j] for j in range(size)],
                                    dtype=torch.float64)[None].requires_grad_(True)
                (grad,) = torch.autograd.grad(MSE.mean(model.predict(X, w), y).sum(), w)
                by_formula = torch.as_tensor(rows[STEP0_ROW + i][FIRST_PARAM + size:FIRST_PARAM + 2 * size],
                                             dtype=torch.float64)
                for t in model.tensors(p):  # every parameter tensor
                    part = slice(t.offset, t.offset + t.size)
                    assert (by_formula[part] - grad[0, part]).abs().max() < 1e-9, (model.name, t.name, i)
                assert rows[STEP0_ROW + i][1] == pytest.approx(float(d.losses[i]), abs=1e-9)


@pytest.mark.libreoffice
def test_filling_down_continues_every_models_descent(many_fit, tmp_path, soffice):
    path = write_workbook(many_fit, tmp_path / "many.xlsx")
    view = many_fit.workbook_view()
    wb = openpyxl.load_workbook(path)
    steps = len(view.runs["linear"].descent.losses) - 1
    last = STEP0_ROW + steps + 1
    for model in many_fit.model_list:
        copy_last_row_down(wb[sheet_name(model)], last)
    copied = tmp_path / "copied.xlsx"
    wb.save(copied)
    with recalculated(copied) as out:
        book = CalamineWorkbook.from_path(str(out))
        for model in many_fit.model_list:
            rows = book.get_sheet_by_name(sheet_name(model)).to_python(skip_empty_area=False)
            d = view.runs[model.name].descent
            nxt = plain_descent(model, view.X[:view.n_train], view.y[:view.n_train],
                                many_fit.runs[model.name].trained.init, steps + 1, d.lr)
            assert rows[last][1] == pytest.approx(float(nxt.losses[-1]), abs=1e-9), model.name


@pytest.mark.slow
def test_the_issues_targets_on_the_lessons_rows(lesson_xy):
    """mlp:8 <= 0.1150 with its defaults; relus:N's loss falls (or stays) from 2 to 4 to 8."""
    X, y = lesson_xy
    mlp = train(registry.get("mlp:8"), X, y, model_config("mlp:8"))
    assert mlp.train_mse <= 0.1150
    losses = [train(registry.get(f"relus:{n}"), X, y, model_config(f"relus:{n}")).train_mse for n in (2, 4, 8)]
    assert losses[0] == pytest.approx(0.128953, abs=1e-5)
    assert losses[0] >= losses[1] >= losses[2], losses


def test_a_descent_sheet_past_the_limits_is_left_out_with_its_reason():
    assert left_out(registry.get("mlp:8"), 10, 50) is None
    wide = left_out(registry.get("mlp:1000"), 10, 50)
    assert "columns" in wide and "16,384" in wide
    from titanic_reg.sheets.workbook import too_wide
    assert too_wide(registry.get("mlp:4096-4096-4096"), 10).startswith("model mlp:4096-4096-4096: its sheet needs")
    assert too_wide(registry.get("mlp:64"), 10) is None


def test_the_docs_table_of_models_is_the_registrys():
    """docs/models.md (linked from the README); `python scripts/models_table.py` rewrites it."""
    from pathlib import Path

    text = Path(__file__).resolve().parents[1].joinpath("docs", "models.md").read_text(encoding="utf-8")
    start = text.index("<!-- models table: titanic_reg.models.table_markdown() -->\n") + len(
        "<!-- models table: titanic_reg.models.table_markdown() -->\n")
    assert text[start:text.index("<!-- end of models table -->")] == registry.table_markdown()


def test_cli_refuses_a_model_it_cannot_name_or_write(tmp_path):
    from click.testing import CliRunner

    from titanic_reg.cli import main

    bad = CliRunner().invoke(main, ["fit", "data/train.csv", "--models", "linear,cnn:3", "--out", str(tmp_path / "a")])
    assert bad.exit_code == 2 and "unknown model 'cnn:3'" in bad.output and "Traceback" not in bad.output
    wide = CliRunner().invoke(main, ["fit", "data/train.csv", "--models", "mlp:4096-4096-4096",
                                     "--out", str(tmp_path / "b")])
    assert wide.exit_code == 2, wide.output
    assert "columns" in wide.output and not (tmp_path / "b").exists()


def test_starts_are_screened_on_a_sample_for_every_model(lesson_xy):
    """Past 4,096 rows the starts train on a sample, then the best on every row."""
    X, y = lesson_xy
    big_X, big_y = X.repeat(7, 1), y.repeat(7)  # 4,984 rows
    for name in ("relus:3", "mlp:3-2", "mlp:2:sigmoid"):
        model = registry.get(name)
        out = train(model, big_X, big_y, model_config(model, epochs=20, restarts=4))
        assert out.screen is not None and out.screen["rows"] == 4096 and len(out.restart_losses) == 4
        assert out.train_mse == pytest.approx(float(MSE.mean(model.predict(big_X, out.params[None]), big_y)), abs=1e-12)


def _looks_like_a_cell(text: str) -> bool:
    """A1 (columns to XFD, rows to 1,048,576) or R1C1 style, as Excel reads a bare word."""
    import re

    from openpyxl.utils import column_index_from_string

    m = re.fullmatch(r"([A-Za-z]{1,3})(\d+)", text)
    if m and column_index_from_string(m[1].upper()) <= 16384 and 1 <= int(m[2]) <= 1048576:
        return True
    return bool(re.fullmatch(r"[Rr]\d*[Cc]\d*|[RrCc]", text))


@pytest.mark.slow
def test_sheet_and_defined_names_follow_excels_rules(many_fit, tmp_path):
    """Excel refuses a sheet named History, names that read as cell references, and a
    formula's bare reference to a sheet named like a cell (MLP8!A1 must be 'MLP8'!A1)."""
    import re

    from titanic_reg.sheets.verify import read_formula_cells

    path = write_workbook(many_fit, tmp_path / "many.xlsx")
    wb = openpyxl.load_workbook(path)
    for name in wb.sheetnames:
        assert 1 <= len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name), name
        assert name.lower() != "history" and not name.startswith("'") and not name.endswith("'"), name
    names = list(wb.defined_names)
    assert len({n.lower() for n in names}) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Za-z_\\][A-Za-z0-9_.]{0,254}", name), name
        assert not _looks_like_a_cell(name), name
    cell_like = [n for n in wb.sheetnames if _looks_like_a_cell(n)]
    assert cell_like, "the test wants a sheet named like a cell (MLP4)"
    for sheet, cells in read_formula_cells(path).items():
        for formula, _ in cells.values():
            for bare in re.findall(r"(?<![\w'])([A-Za-z_][\w.]*)!", formula):
                assert bare not in cell_like, (sheet, formula[:80])
