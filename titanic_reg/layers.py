"""Layers: each carries its torch form, its formula and its derivative's formula.

A layer declares its parameter tensors (named, with shapes) and three renderings of one
computation, side by side as micrograd's ops carry their backward:

    torch(a, tensors)                   the layer over every row and every start at once
    excel(a, refs)                      the same over every row, as one array formula
    backward(delta, a, refs, ones)      d loss / d input and / d each tensor, as formulas

A model (models.py) is a stack of them, ending in an output (outputs.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch's own methods below: the CLI reads the registry for its help without torch
    import torch


@dataclass(frozen=True)
class Tensor:
    """One parameter tensor: `rows` units, each reading `cols` inputs; `name` is its
    defined name in the workbook (and its key in metrics.json)."""

    name: str
    rows: int
    cols: int
    offset: int = 0  # where its values start in the flat parameter vector
    row_names: tuple[str, ...] = ()  # defined names of its rows, where a sheet reads them one by one
    bias: bool = False  # a row of biases, one per unit of its layer

    @property
    def size(self) -> int:
        return self.rows * self.cols


def _ones_col(k: int) -> str:
    """A k x 1 column of ones, in any engine (ROW() of a range is at least 1, so ^0 is 1)."""
    return f"ROW($A$1:$A${k})^0"


class Layer:
    label = ""  # its sheet columns are label1, label2, ...

    def tensors(self, prefix: str, n_in: int) -> list[Tensor]:
        return []

    def width(self, n_in: int) -> int:
        return n_in

    def torch(self, a: torch.Tensor, t: dict) -> torch.Tensor:
        raise NotImplementedError

    def excel(self, a: str, refs: dict) -> str:
        raise NotImplementedError

    def backward(self, delta: str, a: str, refs: dict, ones: str) -> tuple[str, dict]:
        raise NotImplementedError

    def excel_row(self, a: str) -> str | None:
        """The layer over one row's cells (a 1 x width range), where a sheet writing it row by row
        should use a form of its own (a softmax's: the row's own maximum); None: `excel` serves."""
        return None


@dataclass(frozen=True)
class Dense(Layer):
    """z = a W' (+ b): `out` units, each a SUMPRODUCT of the inputs with its row of W. The
    first layer's bias is the Ones feature's weight; a later layer has a bias row of its own."""

    weight: str  # tensor name suffix
    out: int
    bias: str | None = None
    label: str = "Lin"
    row_names: tuple[str, ...] = ()

    def tensors(self, prefix, n_in):
        found = [Tensor(prefix + self.weight, self.out, n_in, row_names=self.row_names)]
        if self.bias:
            found.append(Tensor(prefix + self.bias, 1, self.out, bias=True))
        return found

    def width(self, n_in):
        return self.out

    def _names(self, t):
        keys = list(t)
        return keys[0], (keys[1] if self.bias else None)

    def torch(self, a, t):
        w, b = self._names(t)
        W = t[w]  # (starts, out, in)
        if a.dim() == 2:  # the features (rows x in), shared by every start: one product for all
            z = (W.reshape(-1, W.shape[-1]) @ a.T).reshape(*W.shape[:2], a.shape[0])
        else:
            z = W @ a
        return z + t[b].mT if b else z

    def excel(self, a, refs):
        w, b = refs["_tensors"]
        z = f"MMULT({a},TRANSPOSE({refs[w]}))"
        return f"{z}+{refs[b]}" if b else z

    def backward(self, delta, a, refs, ones):
        w, b = refs["_tensors"]
        t = refs["_shapes"][w]
        if t.rows == 1:  # its gradient is one row already
            grads = {w: f"MMULT(TRANSPOSE({delta}),{a})"}
        else:  # the rows x cols gradient, laid flat in a row (a Descent sheet's): entry [k, j] of
            # MMULT(G, TRANSPOSE(w_c)) * w_r sits in column k*cols+j of row k, and the column sums gather them
            G = f"MMULT(TRANSPOSE({delta}),{a})"
            grads = {w: f"MMULT(TRANSPOSE({_ones_col(t.rows)}),{w}_r*MMULT({G},TRANSPOSE({w}_c)))"}
        if b:
            grads[b] = f"MMULT(TRANSPOSE({ones}),{delta})"
        return f"MMULT({delta},{refs[w]})", grads


@dataclass(frozen=True)
class ReLU(Layer):
    label: str = "ReLU"

    def torch(self, a, t):
        return a.relu()

    def excel(self, a, refs):
        return f"IF({a}<0,0,{a})"  # the lesson's ReLU

    def backward(self, delta, a, refs, ones):
        return f"({delta})*({a}>0)", {}


@dataclass(frozen=True)
class Sum(Layer):
    """The units added up: the lesson's Preds = ReLU1 + ReLU2."""

    label: str = "Preds"

    def width(self, n_in):
        return 1

    def torch(self, a, t):
        return a.sum(dim=-2, keepdim=True)

    def excel(self, a, refs):
        return f"MMULT({a},{_ones_col(refs['_width'])})"

    def backward(self, delta, a, refs, ones):
        return f"MMULT({delta},TRANSPOSE({_ones_col(refs['_width'])}))", {}
