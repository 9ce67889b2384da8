"""The workbook, recalculated for real by LibreOffice, against torch and scikit-learn."""
import re
import zipfile

import numpy as np
import openpyxl
import pytest

from titanic_reg.sheets.functions import ALLOWED, functions_used
from titanic_reg.sheets.verify import _a1, _sheet_parts, read_formula_cells, verify
from titanic_reg.sheets.workbook import write_workbook

pytestmark = pytest.mark.libreoffice


def _find(ws, text):
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell
    raise AssertionError(f"{text!r} not found on {ws.title}")


FITS, ENGINES = ("lesson_fit", "default_fit", "fill_fit"), ("libreoffice", "gnumeric")


@pytest.fixture(scope="module")
def workbooks(request, tmp_path_factory):
    """Each fit's workbook, written once for both engines."""
    made = {}

    def get(fit):
        if fit not in made:
            made[fit] = write_workbook(request.getfixturevalue(fit), tmp_path_factory.mktemp(fit) / "titanic.xlsx")
        return made[fit]

    return get


@pytest.fixture(scope="module", params=[(fit, engine) for fit in FITS for engine in ENGINES],
                ids=lambda p: "-".join(p))
def checked(request, workbooks):
    fit, engine = request.param
    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    path = workbooks(fit)
    return request.getfixturevalue(fit), path, verify(path, engine=engine)


def test_each_engine_recalculates_every_formula_to_torchs_numbers(checked):
    result, path, report = checked
    assert report.engine.split()[0] in ("LibreOffice", "Gnumeric")
    assert report.ok, report.summary()
    assert report.errors == []
    assert report.max_diff <= 1e-9
    assert report.cells_checked > 20 * len(result.data)


def test_recalculated_losses_equal_torchs(checked):
    result, path, report = checked
    for name, sheet in (("linear", "Linear"), ("two_relu", "TwoReLU"), ("two_relu", "MatMul")):
        assert report.value(sheet, "E3") == pytest.approx(result.metrics[name]["train_mse"], abs=1e-9)
        if result.metrics[name]["valid_mse"] is not None:
            assert report.value(sheet, "E4") == pytest.approx(result.metrics[name]["valid_mse"], abs=1e-9)
            assert report.value(sheet, "F4") == pytest.approx(result.metrics[name]["valid_acc"], abs=1e-12)


def test_linest_equals_scikit_learn(checked):
    result, path, report = checked
    ws = openpyxl.load_workbook(path)["Compare"]
    head = _find(ws, "Excel LINEST")
    sk = result.metrics["sklearn_linear"]["params"]
    for j, name in enumerate(result.features):
        row = head.row + 1 + j
        assert ws.cell(row, 1).value == name
        assert report.value("Compare", f"{head.column_letter}{row}") == pytest.approx(sk[j], abs=1e-8)
    mse_row = head.row + 1 + len(result.features)
    linest_mse = report.value("Compare", f"{head.column_letter}{mse_row}")
    assert linest_mse == pytest.approx(result.metrics["sklearn_linear"]["train_mse"], abs=1e-9)
    assert linest_mse == pytest.approx(result.metrics["linear"]["train_mse"], abs=1e-6)


def test_test_sheet_survived_column_is_the_submission(checked):
    result, path, report = checked
    ws = openpyxl.load_workbook(path)["Test"]
    head = _find(ws, "Survived")
    got = [report.value("Test", f"{head.column_letter}{head.row + 1 + i}") for i in range(len(result.test))]
    assert np.array_equal(np.array(got, dtype=int), result.predictions["Survived"].to_numpy())
    assert len(got) == 418


def test_only_portable_functions(checked):
    result, path, report = checked
    used = set()
    for cells in read_formula_cells(path).values():
        for formula, _ in cells.values():
            used |= functions_used(formula)
            assert "_xlfn" not in formula and "[" not in formula  # no new functions, no table refs
    assert used <= ALLOWED, used - ALLOWED
    assert {"SUMPRODUCT", "IF", "LOG10", "MMULT", "LINEST", "AVERAGE"} <= used


def test_features_and_statistics_are_formulas(lesson_fit, tmp_path):
    path = write_workbook(lesson_fit, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Data"]
    header = [c.value for c in ws[5]]
    assert header[:10] == ["PassengerId", "Split", "Survived", "SibSp", "Parch", "Age", "Fare", "Pclass",
                           "Embarked", "Sex"]
    row = {h: c.value for h, c in zip(header, ws[6])}
    assert row["Age_N"] == "=$F6/max_Age"
    assert row["log_Fare"] == "=LOG10($G6+1)"
    assert row["Pclass_1"] == "=IF($H6=1,1,0)"  # the lesson's IF(x=v,1,0) for numbers
    assert row["Male"] == '=IF(EXACT($J6,"male"),1,0)'  # text compared exactly: "Male" is not "male"
    assert row["Embark_S"] == '=IF(EXACT($I6,"S"),1,0)'
    sheet, cell = next(wb.defined_names["max_Age"].destinations)
    assert sheet == "Recipe" and wb[sheet][cell.replace("$", "")].value == "=MAX(Data!$F$6:$F$717)"
    cached = openpyxl.load_workbook(path, data_only=True)
    assert cached[sheet][cell.replace("$", "")].value == 80
    lin = wb["Linear"]
    assert lin["C6"].value == "=SUMPRODUCT(Data!$K6:$T6,lin_w)"
    relu = wb["TwoReLU"]
    assert relu["E6"].value == "=IF($C6<0,0,$C6)"


def test_csv_text_is_never_a_formula(tmp_path):
    import titanic_reg

    lines = open("data/train.csv", encoding="utf-8").read().splitlines()
    evil = ['"=HYPERLINK(""http://x"",""y"")"', '"+1+1"', '"-2"', '"@SUM(A1)"']
    for i, name in enumerate(evil):
        fields = lines[1 + i].split(",")
        lines[1 + i] = ",".join(fields[:3] + [name] + fields[5:])
    csv = tmp_path / "train.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = titanic_reg.fit(csv, valid_pct=0, epochs=2, baselines=None)
    path = write_workbook(result, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["Data"]
    names = [ws.cell(6 + i, 21) for i in range(4)]
    assert [c.value for c in names] == ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)"]
    assert all(c.data_type == "s" for c in names)


def test_verify_catches_one_tampered_cached_value(lesson_fit, tmp_path, soffice):
    path = write_workbook(lesson_fit, tmp_path / "t.xlsx")
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    # sheet5 is Linear: change the cached prediction of its first passenger (C6).
    xml = parts["xl/worksheets/sheet5.xml"].decode()
    new, count = re.subn(r'(<c r="C6"[^>]*><f>[^<]*</f><v>)([^<]*)(</v>)',
                         lambda m: m.group(1) + repr(float(m.group(2)) + 1e-6) + m.group(3), xml)
    assert count == 1
    parts["xl/worksheets/sheet5.xml"] = new.encode()
    tampered = tmp_path / "tampered.xlsx"
    with zipfile.ZipFile(tampered, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in parts.items():
            z.writestr(n, b)
    report = verify(tampered)
    assert not report.ok
    assert report.worst[0][:2] == ("Linear", "C6")
    assert report.worst[0][4] == pytest.approx(1e-6, rel=1e-3)


def test_cached_values_show_without_recalculation(lesson_fit, tmp_path):
    """What pandas, previews and Protected View see: torch's numbers, no formulas run."""
    import pandas as pd

    from titanic_reg.models import get

    path = write_workbook(lesson_fit, tmp_path / "t.xlsx")
    for model, column in ((get("linear"), "Linear"), (get("two_relu"), "Preds")):
        sheet = pd.read_excel(path, sheet_name=model.sheet, header=4, engine="openpyxl")
        pred = model.predict(lesson_fit.X, lesson_fit.runs[model.name].params[None])[0].numpy()
        assert sheet[column].to_numpy() == pytest.approx(pred, abs=1e-15)
    data = pd.read_excel(path, sheet_name="Data", header=4, engine="openpyxl")
    assert data[list(lesson_fit.features)].to_numpy() == pytest.approx(lesson_fit.X.numpy(), abs=1e-15)


def test_big_data_gets_a_labelled_sample_that_still_verifies(tmp_path, soffice):
    """Beyond --sheet-rows the workbook holds a seeded sample; torch used every row."""
    import pandas as pd

    import titanic_reg

    raw = pd.read_csv("data/train.csv")
    big = pd.concat([raw.assign(PassengerId=raw["PassengerId"] + 1000 * k) for k in range(3)])
    csv = tmp_path / "train.csv"
    big.to_csv(csv, index=False)
    result = titanic_reg.fit(csv, test_path=None, epochs=20, descent_steps=3, baselines=None)
    path = write_workbook(result, tmp_path / "t.xlsx", max_rows=300)
    report = verify(path)
    assert report.ok, report.summary()
    data = openpyxl.load_workbook(path)["Data"]
    assert "SAMPLE of 300 of 2,136 rows" in data["A1"].value
    assert data.max_row == 5 + 300
    splits = [data.cell(6 + i, 2).value for i in range(300)]
    assert splits == sorted(splits, key=lambda s: s != "train")  # training rows first
    assert 0 < splits.count("valid") < 300


def test_fewer_rows_than_features_still_verifies(tmp_path, soffice):
    """LINEST cannot fit 10 coefficients to 8 rows: it is left out, with a note, not an error."""
    import titanic_reg

    csv = tmp_path / "train.csv"
    csv.write_text("".join(open("data/train.csv", encoding="utf-8").readlines()[:9]), encoding="utf-8")
    result = titanic_reg.fit(csv, valid_pct=0, epochs=20, descent_steps=3, baselines=None)
    path = write_workbook(result, tmp_path / "t.xlsx")
    report = verify(path)
    assert report.ok and not report.errors, report.summary()
    ws = openpyxl.load_workbook(path)["Compare"]
    assert f"LINEST is left out: {result.n_train} training rows" in _find_start(ws, "LINEST is left out")


def _find_start(ws, prefix):
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(prefix):
                return cell.value
    raise AssertionError(prefix)


def test_formulas_pass_through_exactly_as_xlsxwriter_would_write_them(lesson_fit, tmp_path, monkeypatch):
    """sheets.layout skips XlsxWriter's _xlfn rewrites for our formulas: they must be no-ops."""
    from xlsxwriter.worksheet import Worksheet

    from titanic_reg.sheets import layout

    ours, seen = layout._Worksheet._prepare_formula, []

    def both(self, formula, expand_future_functions=False):
        mine = ours(self, formula, expand_future_functions)
        assert mine == Worksheet._prepare_formula(self, formula, expand_future_functions), formula
        seen.append(formula)
        return mine

    monkeypatch.setattr(layout._Worksheet, "_prepare_formula", both)
    write_workbook(lesson_fit, tmp_path / "t.xlsx")
    assert len(seen) > 30_000 and any(f.startswith("{=") for f in seen)
    # A function outside the allowed list goes through XlsxWriter's own rewrite.
    ws = layout.new_workbook(tmp_path / "x.xlsx").add_worksheet("S")
    assert ws._prepare_formula("=XLOOKUP(1,A1:A2,B1:B2)") == "_xlfn.XLOOKUP(1,A1:A2,B1:B2)"


def test_about_says_how_each_model_was_trained(lesson_fit, tmp_path):
    ws = openpyxl.load_workbook(write_workbook(lesson_fit, tmp_path / "t.xlsx"))["About"]
    text = {c.value: ws.cell(c.row, 2).value for row in ws.iter_rows(max_col=1) for c in row}
    steps = len(lesson_fit.runs["linear"].trained.history) - 1
    assert text["linear"] == f"conjugate gradient, {steps} steps (converged); from one random start"
    assert text["two_relu"] == ("Adam, 1,000 steps, learning rate 0.03; 128 random starts trained at once, "
                                "the best kept")


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_computes_the_numbers_itself_from_a_workbook_without_cached_values(lesson_fit, tmp_path,
                                                                                       engine):
    """The cached values removed from every formula cell: what the engine reports can only
    be its own arithmetic, and it is torch's to 1e-9."""
    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    path = write_workbook(lesson_fit, tmp_path / "t.xlsx")
    cached = read_formula_cells(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
        members = dict(_sheet_parts(z)[1])
    emptied = 0
    for sheet, cells in cached.items():  # every formula cell's <v>, array formulas' spill cells included
        refs = {_a1(*key) for key in cells}

        def empty(m, refs=refs):
            return m.group(1) + m.group(2) if m.group(1).split('"')[1] in refs else m.group(0)

        xml, count = re.subn(r'(<c r="[A-Z]+[0-9]+"[^>]*>)((?:<f[^>]*>[^<]*</f>|<f[^>]*/>)?)<v>[^<]*</v>', empty,
                             parts[members[sheet]].decode())
        parts[members[sheet]] = xml.encode()
        emptied += sum(1 for _ in refs)
    bare = tmp_path / "bare.xlsx"
    with zipfile.ZipFile(bare, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in parts.items():
            z.writestr(n, b)
    assert emptied > 20 * len(lesson_fit.data)
    assert all(v is None for cells in read_formula_cells(bare).values() for _f, v in cells.values()
               if not isinstance(v, str))
    report = verify(bare, engine=engine)  # against nothing: every number differs
    worst = 0.0
    for sheet, cells in cached.items():
        for key, (_formula, value) in cells.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                got = report.recalculated[sheet][key]
                worst = max(worst, abs(got - value) / max(1.0, abs(value)))
    assert worst <= 1e-9, worst
    assert report.value("Linear", "E3") == pytest.approx(lesson_fit.metrics["linear"]["train_mse"], abs=1e-12)


def test_every_header_fits_its_row_when_wrapped(tmp_path):
    """A long header (an input named "sepal length (cm)", its feature "... (feature)") wraps onto
    as many lines as it needs and its row is tall enough to show them all."""
    import csv
    import textwrap

    import titanic_reg
    from titanic_reg.sheets.layout import LINE_POINTS

    path = tmp_path / "long names.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["sepal length (cm)", "petal width of the flower (cm)", "kind of flower"])
        for i in range(40):
            out.writerow([4 + i % 7 * 0.3, 0.1 + i % 5 * 0.4, "a" if i % 3 else "b"])
    result = titanic_reg.fit(path, target="kind of flower", epochs=5, restarts=2, descent_steps=2)
    book = openpyxl.load_workbook(write_workbook(result, tmp_path / "long.xlsx"))
    for sheet, row in (("Data", 5), ("Compare", 3)):
        ws = book[sheet]
        widths = {c: (ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width or 9) for c in
                  range(1, ws.max_column + 1)}
        for cell in ws[row]:
            if isinstance(cell.value, str):
                lines = len(textwrap.wrap(cell.value, int(widths[cell.column]), break_long_words=False))
                assert lines * LINE_POINTS <= ws.row_dimensions[row].height, (sheet, cell.value)
    assert "sepal length (cm) (feature)" in [c.value for c in book["Data"][5]]


def test_the_default_rows_keep_the_descent_sheets_work_in_budget(tmp_path):
    """scikit-learn's digits, 10 classes: every row fits the Data sheet's cell budget, but the
    Descent sheets would redo 50 steps x 1,438 rows x 1,860 parameters; the default holds
    fewer rows, and none are cut without Descent sheets."""
    from sklearn.datasets import load_digits

    import titanic_reg
    from titanic_reg.sample import CELL_BUDGET, DESCENT_WORK, default_rows, sheet_columns

    load_digits(as_frame=True).frame.to_csv(tmp_path / "digits.csv", index=False)
    result = titanic_reg.fit(tmp_path / "digits.csv", target="target", epochs=2, restarts=1, baselines=None)
    params = sum(run.model.size(len(result.features)) for run in result.runs.values())
    assert params == 65 * 10 + (65 * 16 + 17 * 10)  # linear and mlp:16, 10 outputs each
    assert CELL_BUDGET // sheet_columns(result.recipe, result.features, result.model_list) > len(result.data)
    rows = default_rows(result)
    train_rows = rows * result.n_train / len(result.data)
    assert rows < len(result.data) and 50 * params * train_rows <= DESCENT_WORK < 50 * params * (train_rows + 1)
    no_descent = titanic_reg.fit(tmp_path / "digits.csv", target="target", epochs=2, restarts=1, baselines=None,
                                 descent_steps=0)
    assert default_rows(no_descent) > len(result.data)


def _whole_class_book(tmp_path):
    """A binary target written as the whole numbers 1 and 7 (as digit labels are), with test rows."""
    import titanic_reg

    rng = np.random.default_rng(7)
    x = rng.normal(size=80).round(3)
    frame = {"x": x, "z": rng.normal(size=80).round(3), "digit": np.where(x + 0.3 * rng.normal(size=80) > 0, 7, 1)}
    import pandas as pd

    pd.DataFrame(frame).iloc[:60].to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame(frame).iloc[60:].drop(columns="digit").to_csv(tmp_path / "test.csv", index=False)
    result = titanic_reg.fit(tmp_path / "train.csv", tmp_path / "test.csv", target="digit", models="linear",
                             baselines=None, descent_steps=2, progress=False)
    path = result.to_excel(tmp_path / "digit.xlsx")
    return result, path


def test_a_whole_number_class_on_the_test_sheet_is_a_number_as_in_predictions_csv(tmp_path):
    result, path = _whole_class_book(tmp_path)
    ws = openpyxl.load_workbook(path)["Test"]
    head = _find(ws, "prediction")
    first = ws.cell(head.row + 1, head.column).value
    assert re.fullmatch(r"=IF\(.+>0\.5,7,1\)", first), first
    cached = openpyxl.load_workbook(path, data_only=True)["Test"]
    said = [cached.cell(head.row + 1 + i, head.column).value for i in range(len(result.test))]
    assert said == result.predictions["prediction"].tolist() and set(said) == {1, 7}


@pytest.mark.slow
@pytest.mark.libreoffice
def test_a_whole_number_class_test_sheet_verifies(tmp_path):
    from tests.conftest import engine_or_fail

    engine_or_fail("libreoffice")
    _, path = _whole_class_book(tmp_path)
    report = verify(path, engine="libreoffice", timeout=300)
    assert report.ok, report.summary()
