"""Losses and outputs are registry entries: each torch form agrees with autograd, and each
formula with the torch form it renders (evaluated here on numbers put in its cells)."""
import math

import pytest
import torch

from titanic_reg import losses
from titanic_reg.losses import MSE
from titanic_reg.models import get
from titanic_reg.outputs import IDENTITY, SIGMOID


FUNCTIONS = {"EXP": math.exp, "LN": math.log, "ABS": abs, "SIGN": lambda v: (v > 0) - (v < 0),
             "IF": lambda test, yes, no: yes if test else no}


def _cells(formula: str, values: dict) -> float:
    """A one-row formula of +, -, *, /, ^, comparisons and FUNCTIONS over named cells, in Python."""
    text = formula.replace("^", "**").replace("<>", "!=").replace("=", "==").replace("!==", "!=")
    return eval(text, dict(FUNCTIONS), dict(values))  # noqa: S307 - our own formula text


@pytest.mark.parametrize("loss", list(losses.LOSSES.values()), ids=list(losses.LOSSES))
def test_each_losss_gradient_is_autograds(loss):
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(3, 7, generator=gen, dtype=torch.float64).requires_grad_()
    y = (torch.rand(7, generator=gen, dtype=torch.float64) > 0.5).to(torch.float64)
    (auto,) = torch.autograd.grad(loss.mean(pred, y).sum(), pred)
    assert loss.gradient(pred.detach(), y).numpy() == pytest.approx(auto.numpy(), abs=1e-15)


@pytest.mark.parametrize("loss", list(losses.LOSSES.values()), ids=list(losses.LOSSES))
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
    with pytest.raises(ValueError, match="unknown loss 'l3': choose from mse, mnist"):
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
