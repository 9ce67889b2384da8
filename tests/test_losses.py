"""Losses and outputs are registry entries: each torch form agrees with autograd, and each
formula with the torch form it renders (evaluated here on numbers put in its cells)."""
import math

import pytest
import torch

import numpy as np

from titanic_reg import losses
from titanic_reg.losses import CROSS_ENTROPY, MSE
from titanic_reg.models import get
from titanic_reg.outputs import IDENTITY, SIGMOID, SOFTMAX


FUNCTIONS = {"EXP": math.exp, "LN": math.log, "ABS": abs, "SIGN": lambda v: (v > 0) - (v < 0),
             "IF": lambda test, yes, no: yes if test else no}


def _cells(formula: str, values: dict) -> float:
    """A one-row formula of +, -, *, /, ^, comparisons and FUNCTIONS over named cells, in Python."""
    text = formula.replace("^", "**").replace("<>", "!=").replace("=", "==").replace("!==", "!=")
    return eval(text, dict(FUNCTIONS), dict(values))  # noqa: S307 - our own formula text


ONE_OUTPUT = [loss for loss in losses.LOSSES.values() if not loss.classes]  # a prediction per row


@pytest.mark.parametrize("loss", ONE_OUTPUT, ids=[loss.name for loss in ONE_OUTPUT])
def test_each_losss_gradient_is_autograds(loss):
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(3, 7, generator=gen, dtype=torch.float64).requires_grad_()
    y = (torch.rand(7, generator=gen, dtype=torch.float64) > 0.5).to(torch.float64)
    (auto,) = torch.autograd.grad(loss.mean(pred, y).sum(), pred)
    assert loss.gradient(pred.detach(), y).numpy() == pytest.approx(auto.numpy(), abs=1e-15)


@pytest.mark.parametrize("loss", ONE_OUTPUT, ids=[loss.name for loss in ONE_OUTPUT])
def test_each_losss_cell_is_its_torch_form(loss):
    for p, y in ((0.3, 1.0), (0.9, 0.0), (-0.2, 1.0), (1.4, 0.0)):
        torch_value = float(loss.rows(torch.tensor([p], dtype=torch.float64), torch.tensor([y], dtype=torch.float64))[0])
        assert _cells(loss.cell("P", "Y"), {"P": p, "Y": y}) == pytest.approx(torch_value, abs=1e-15)


def test_the_mse_reads_as_the_lesson_writes_it():
    assert MSE.cell("B6", "C6") == "(B6-C6)^2"
    assert MSE.mean_excel("pred", "train_y") == "SUMPRODUCT((pred-train_y)^2)/ROWS(train_y)"
    assert MSE.gradient_excel("pred", "train_y") == "2/ROWS(train_y)*(pred-train_y)"
    assert MSE.average_excel("E6:E718") == "AVERAGE(E6:E718)" and MSE.quadratic


def test_an_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="unknown loss 'l3': choose from mse, mnist, cross_entropy"):
        losses.get("l3")


@pytest.mark.parametrize("output", [IDENTITY, SIGMOID], ids=["identity", "sigmoid"])
def test_each_outputs_backward_formula_is_autograds(output):
    z = torch.linspace(-3, 3, 7, dtype=torch.float64).requires_grad_()
    (auto,) = torch.autograd.grad(output.torch(z, {}).sum(), z)
    for zi, gi in zip(z.detach().tolist(), auto.tolist()):
        delta, grads = output.backward("1", "Z", {}, "ONES")
        assert grads == {} and _cells(delta, {"Z": zi}) == pytest.approx(gi, abs=1e-15)
        assert _cells(output.excel("Z", {}), {"Z": zi}) == pytest.approx(float(output.torch(torch.tensor(zi), {})))


def test_outputs_decide_at_one_half_in_torch_and_in_a_cell():
    pred = torch.tensor([0.2, 0.5, 0.51, 3.0], dtype=torch.float64)
    assert IDENTITY.decide(pred).tolist() == [0, 0, 1, 1] and IDENTITY.decide_excel("B6") == "IF(B6>0.5,1,0)"
    assert IDENTITY.correct(pred, torch.tensor([0, 1, 1, 0.0])).tolist() == [1, 0, 1, 0]


def test_a_model_ends_in_its_output_and_asks_it():
    assert get("logistic").output is SIGMOID and get("mlp:4:sigmoid").output is SIGMOID
    assert get("linear").output is IDENTITY and get("two_relu").output is IDENTITY


def test_mnist_loss_is_the_chapters():
    from titanic_reg.losses import MNIST

    pred = torch.tensor([0.9, 0.4, 0.2], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    assert MNIST.mean(pred, y).item() == pytest.approx(torch.where(y == 1, 1 - pred, pred).mean().item())
    assert MNIST.mean(pred, y).item() == pytest.approx((0.1 + 0.4 + 0.8) / 3)
    assert not MNIST.quadratic


# K classes: the softmax and cross-entropy. Their formulas run over ranges (a row's K cells, or
# rows x K), so they are evaluated here on numpy arrays put in their cells.
ARRAY_FUNCTIONS = {"EXP": np.exp, "LN": np.log, "MAX": np.max, "SUM": np.sum, "ROWS": lambda a: np.shape(a)[0],
                   "SUMPRODUCT": lambda *a: np.sum(np.prod(np.broadcast_arrays(*a), axis=0)),
                   "MATCH": lambda value, where, exact: int(np.flatnonzero(np.ravel(where) == value)[0]) + 1}


def _arrays(formula: str, values: dict):
    """A formula of + - * / comparisons and ARRAY_FUNCTIONS over named ranges (numpy arrays), in Python."""
    text = formula.replace("^", "**").replace("<>", "!=").replace("=", "==").replace("!==", "!=")
    return eval(text, dict(ARRAY_FUNCTIONS), dict(values))  # noqa: S307 - our own formula text


def _classes(rows=7, k=4, starts=3, scale=3.0):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(starts, k, rows, generator=gen, dtype=torch.float64) * scale  # (starts, K, rows), as layers run
    y = torch.randint(0, k, (rows,), generator=gen).to(torch.float64)
    return z, y


def test_cross_entropys_gradient_is_autograds_at_the_scores():
    z, y = _classes()
    z.requires_grad_()
    p = SOFTMAX.torch(z, {}).mT  # (starts, rows, K), a prediction as Model.predict lays it out
    (auto,) = torch.autograd.grad(CROSS_ENTROPY.mean(p, y).sum(), z)
    assert CROSS_ENTROPY.at_scores and not MSE.at_scores
    assert CROSS_ENTROPY.gradient(p.detach(), y).mT.numpy() == pytest.approx(auto.numpy(), abs=1e-15)
    # ... and the softmax's backward passes it on unchanged, so backpropagation starts at the scores
    assert SOFTMAX.backward("DELTA", "Z", {}, "ONES") == ("DELTA", {})


def test_cross_entropy_is_torchs_on_the_scores():
    z, y = _classes()
    p = SOFTMAX.torch(z, {}).mT
    ours = CROSS_ENTROPY.mean(p, y)
    theirs = torch.stack([torch.nn.functional.cross_entropy(z[s].T, y.long()) for s in range(len(z))])
    assert ours.numpy() == pytest.approx(theirs.numpy(), abs=1e-14)
    assert not CROSS_ENTROPY.quadratic and CROSS_ENTROPY.classes


def test_the_softmax_subtracts_the_rows_largest_score_as_torch_does():
    z = torch.tensor([[[800.0, 1.0], [801.0, 2.0], [799.0, 3.0]]], dtype=torch.float64)  # 2 rows of 3 scores
    ours = SOFTMAX.torch(z, {})
    assert torch.isfinite(ours).all()  # e^800 alone is past float64
    assert ours.numpy() == pytest.approx(torch.softmax(z, dim=-2).numpy(), abs=1e-15)
    row = z[0, :, 0].numpy()[None]  # a row's K scores, as one row of a sheet holds them
    assert _arrays(SOFTMAX.excel_row("Z"), {"Z": row}) == pytest.approx(ours[0, :, 0].numpy()[None], abs=1e-15)


def test_softmax_and_cross_entropy_formulas_are_their_torch_forms():
    z, y = _classes(rows=9, k=5, starts=1, scale=5.0)
    p = SOFTMAX.torch(z, {}).mT[0]  # (rows, K)
    for i in range(len(y)):
        assert _arrays(SOFTMAX.excel_row("Z"), {"Z": z[0, :, i].numpy()[None]}) == pytest.approx(
            p[i:i + 1].numpy(), abs=1e-15)
    p[0, (int(y[0]) + 1) % 5] = 0.0  # a probability of 0 for a class that is not the row's: no LN of it
    onehot = torch.nn.functional.one_hot(y.long(), 5).to(torch.float64).numpy()
    P = p.numpy()
    for i in range(len(y)):
        cells = {"P": P[i:i + 1], "Y": onehot[i:i + 1]}
        assert _arrays(CROSS_ENTROPY.cell("P", "Y"), cells) == pytest.approx(
            float(CROSS_ENTROPY.rows(p[i:i + 1], y[i:i + 1])[0]), abs=1e-14)
        assert _arrays(SOFTMAX.decide_excel("P"), {"P": P[i:i + 1]}) == int(SOFTMAX.decide(p[i:i + 1])[0])
    assert _arrays(CROSS_ENTROPY.mean_excel("P", "Y"), {"P": P, "Y": onehot}) == pytest.approx(
        float(CROSS_ENTROPY.mean(p, y)), abs=1e-14)
    assert _arrays(CROSS_ENTROPY.gradient_excel("P", "Y"), {"P": P, "Y": onehot}) == pytest.approx(
        CROSS_ENTROPY.gradient(p, y).numpy(), abs=1e-15)


def test_softmax_decides_the_largest_probability_and_scores_it():
    p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]], dtype=torch.float64)
    assert SOFTMAX.decide(p).tolist() == [1, 0, 2, 0]  # the first among equals, as torch.argmax
    assert SOFTMAX.correct(p, torch.tensor([1, 2, 2, 0.0])).tolist() == [1, 0, 1, 1]


def test_a_model_for_k_classes_ends_in_k_outputs_and_a_softmax():
    linear = get("linear").with_classes(4)
    assert linear.output is SOFTMAX and linear.widths(6) == [4, 4] and linear.size(6) == 24
    assert not linear.linear_in_params and linear.defaults["optimizer"] == "adam" and linear.sklearn == "sklearn_logistic"
    mlp = get("mlp:8").with_classes(3)
    assert mlp.widths(6) == [8, 8, 3, 3] and mlp.name == "mlp:8" and mlp.sklearn == "sklearn_mlp:8"
    X = torch.randn(5, 6, dtype=torch.float64)
    P = torch.randn(2, mlp.size(6), dtype=torch.float64)
    p = mlp.predict(X, P)
    assert p.shape == (2, 5, 3) and p.sum(dim=-1).numpy() == pytest.approx(np.ones((2, 5)))
    for name in ("two_relu", "relus:4"):
        with pytest.raises(ValueError, match=f"{name} adds its units up into one output"):
            get(name).with_classes(3)
    for name in ("logistic", "mlp:4:sigmoid"):
        with pytest.raises(ValueError, match="ends in a sigmoid, an output for two classes"):
            get(name).with_classes(3)
