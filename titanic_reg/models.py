"""The models: layers that carry their torch form, their formula and their derivative's formula.

A model is a stack of layers over the feature matrix X (rows x features, the constant Ones
among them). Each layer declares its parameter tensors (named, with shapes) and three
renderings of one computation, side by side as micrograd's ops carry their backward:

    torch(a, tensors)                   the layer over every row and every start at once
    excel(a, refs)                      the same over every row, as one array formula
    backward(delta, a, refs, ones)      d loss / d input and / d each tensor, as formulas

Training, the metrics, the CLI's choices and every sheet read the registry at the bottom
(FAMILIES): adding a model is one entry there.

Parameters travel as one flat tensor per start, (starts, d), each tensor's values in row
order: one optimizer step and one backward pass serve every tensor of every start.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Sigmoid(Layer):
    """1 / (1 + e^-z): an output between 0 and 1, for a binary target."""

    label: str = "Sigmoid"

    def torch(self, a, t):
        return a.sigmoid()

    def excel(self, a, refs):
        return f"1/(1+EXP(-({a})))"

    def backward(self, delta, a, refs, ones):
        s = self.excel(a, refs)
        return f"({delta})*({s})*(1-{s})", {}


@dataclass(frozen=True)
class Model:
    name: str  # as --models takes it
    title: str
    sheet: str  # its sheet in the workbook (Descent<sheet> for its Descent sheet)
    prefix: str  # of its tensors' defined names
    layers: tuple[Layer, ...]
    about: str  # one line for the About sheet, the CLI's help and the README
    defaults: dict = field(default_factory=dict)  # optimizer, epochs, lr, restarts
    lesson: bool = False  # its sheet writes each unit per row with SUMPRODUCT, as the lesson's sheets
    sklearn: str | None = None  # the scikit-learn model of the same shape, for the comparison

    @property
    def linear_in_params(self) -> bool:
        """A prediction linear in the parameters has a quadratic MSE: conjugate gradient applies."""
        return all(isinstance(layer, Dense) for layer in self.layers) and len(self.layers) == 1

    @property
    def units(self) -> int:
        """Units of the first layer (the ones reading the features)."""
        return self.layers[0].width(0)

    def tensors(self, n_features: int) -> list[Tensor]:
        found, offset, n_in = [], 0, n_features
        for layer in self.layers:
            for t in layer.tensors(self.prefix, n_in):
                found.append(Tensor(t.name, t.rows, t.cols, offset, t.row_names, t.bias))
                offset += t.size
            n_in = layer.width(n_in)
        return found

    def size(self, n_features: int) -> int:
        return sum(t.size for t in self.tensors(n_features))

    def widths(self, n_features: int) -> list[int]:
        found, n_in = [], n_features
        for layer in self.layers:
            n_in = layer.width(n_in)
            found.append(n_in)
        return found

    def unpack(self, P: torch.Tensor, n_features: int) -> dict[str, torch.Tensor]:
        """The named tensors of flat parameters (starts, d): each (starts, rows, cols), a view."""
        return {t.name: P[..., t.offset:t.offset + t.size].unflatten(-1, (t.rows, t.cols))
                for t in self.tensors(n_features)}

    def layer_tensors(self, n_features: int) -> list[list[Tensor]]:
        found, n_in = [], n_features
        for layer in self.layers:
            found.append(layer.tensors(self.prefix, n_in))
            n_in = layer.width(n_in)
        return found

    def forward(self, X: torch.Tensor, P: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's output, (starts, width, rows), for P of shape (starts, d): a unit's values
        over the rows lie together, as the first layer's one product leaves them."""
        t = self.unpack(P, X.shape[-1])
        a, found = X, []
        for layer, own in zip(self.layers, self.layer_tensors(X.shape[-1])):
            a = layer.torch(a, {k.name: t[k.name] for k in own})
            found.append(a)
        return found

    def predict(self, X: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
        """(starts, rows)."""
        return self.forward(X, P)[-1][:, 0]

    def columns(self, n_features: int) -> list[list[str]]:
        """Each layer's column headers on the sheets: Lin1, ReLU1, ... (Lin1.1, ReLU2.3, ... with
        several layers of weights), and Preds for the output (the linear model's own: Linear)."""
        found, depth = [], 0
        deep = sum(isinstance(layer, Dense) for layer in self.layers) > 1
        last = len(self.layers) - 1
        for i, (layer, width) in enumerate(zip(self.layers, self.widths(n_features))):
            depth += isinstance(layer, Dense)
            if i == last:
                found.append([layer.label if last == 0 else "Preds"])
            elif width == 1 and i == last - 1 and isinstance(self.layers[last], Sigmoid):
                found.append(["Logit"])
            else:
                stem = f"{layer.label}{depth}." if deep else layer.label
                found.append([f"{stem}{k + 1}" for k in range(width)])
        return found

    def inputs(self, features) -> dict[str, list[str]]:
        """The names of each tensor's columns: the inputs its units read (a bias row: its units)."""
        heads, found = list(features), {}
        for layer, cols in zip(self.layers, self.columns(len(features))):
            for t in layer.tensors(self.prefix, len(heads)):
                found[t.name] = cols if t.bias else heads
            heads = cols
        return found

    def excel_layer(self, i: int, a: str, refs: dict, n_features: int) -> str:
        """Layer i over every row as array formula text, given its input `a` and, in refs, each
        tensor's matrix (a defined name, or a Descent row rebuilt as a matrix)."""
        return self.layers[i].excel(a, self._context(i, refs, n_features))

    def _context(self, i: int, refs: dict, n_features: int) -> dict:
        own = self.layer_tensors(n_features)[i]
        return {**refs, "_tensors": [t.name for t in own] + [None] * (2 - len(own)),
                "_width": ([n_features] + self.widths(n_features))[i], "_shapes": {t.name: t for t in own}}

    def excel_forward(self, X: str, refs: dict, n_features: int) -> list[str]:
        """Each layer's output over every row, as array formula text; refs: tensor -> matrix text."""
        a, found = X, []
        for i in range(len(self.layers)):
            a = self.excel_layer(i, a, refs, n_features)
            found.append(a)
        return found

    def excel_gradients(self, X: str, y: str, refs: dict, n_features: int) -> dict[str, str]:
        """d MSE / d each tensor over the rows X, y: backpropagation written out as formulas.

        The output's error 2/n (pred - y), multiplied back through each layer: a Dense layer
        turns the error reaching it into its tensors' gradients (error' x its input) and
        passes error x W back; a ReLU passes the error where its input was positive."""
        outs = self.excel_forward(X, refs, n_features)
        ins = [X] + outs[:-1]
        ones = f"ROW({y})^0"
        delta = f"2/ROWS({y})*({outs[-1]}-{y})"
        grads = {}
        for i in range(len(self.layers) - 1, -1, -1):
            delta, found = self.layers[i].backward(delta, ins[i], self._context(i, refs, n_features), ones)
            grads.update(found)
        return grads


# The loss and the decision rule, in the same two renderings.
def squared_error(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (pred - y) ** 2


def squared_error_excel(pred: str, y: str) -> str:
    return f"({pred}-{y})^2"


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over rows (the last axis), one loss per restart."""
    return squared_error(pred, y).mean(dim=-1)


def mse_excel(pred: str, y: str) -> str:
    """The mean squared error over every row in one (array) formula."""
    return f"SUMPRODUCT(({pred}-{y})^2)/ROWS({y})"


THRESHOLD = 0.5  # a binary target: a prediction above it says 1


def decision(pred: torch.Tensor) -> torch.Tensor:
    return (pred > THRESHOLD).to(pred.dtype)


def decision_excel(pred: str) -> str:
    return f"IF({pred}>{THRESHOLD},1,0)"


def correct(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (decision(pred) == y).to(pred.dtype)


def correct_excel(decision_ref: str, y: str) -> str:
    return f"IF({decision_ref}={y},1,0)"


# ---------------------------------------------------------------------------------------
# The registry. A family maps the text after its name (`relus:4` -> "4") to a Model.
@dataclass(frozen=True)
class Family:
    pattern: str  # what --models takes, for the help
    example: str
    build: Callable[[re.Match], Model]
    regex: str  # the whole name


MAX_UNITS = 4096  # per layer: far past what a spreadsheet can show, well short of a memory error


def _units(text: str) -> int:
    k = int(text)
    if not 1 <= k <= MAX_UNITS:
        raise ValueError(f"a layer has 1 to {MAX_UNITS:,} units, not {k}")
    return k


def _linear(m):
    return Model("linear", "Linear", "Linear", "lin_", (Dense("w", 1, label="Linear"),),
                 "the lesson's linear model: SUMPRODUCT(features, lin_w)",
                 {"optimizer": "cg", "epochs": 500, "lr": 0.1, "restarts": 1}, lesson=True, sklearn="sklearn_linear")


def _two_relu(m):
    return Model("two_relu", "Two ReLUs", "TwoReLU", "relu_",
                 (Dense("W", 2, row_names=("relu_w1", "relu_w2")), ReLU(), Sum()),
                 "the lesson's two ReLUs added: relu(X w1) + relu(X w2)",
                 {"optimizer": "adam", "epochs": 1000, "lr": 0.03, "restarts": 128}, lesson=True)


def _logistic(m):
    return Model("logistic", "Logistic", "Logistic", "logit_", (Dense("w", 1, label="Logit"), Sigmoid()),
                 "the linear model through a sigmoid: 1 / (1 + EXP(-SUMPRODUCT(features, logit_w))), "
                 "an output between 0 and 1, trained on the MSE",
                 {"optimizer": "adam", "epochs": 1000, "lr": 0.1, "restarts": 4})


def _relus(m):
    n = _units(m[1])
    return Model(f"relus:{n}", f"{n} ReLUs", f"ReLUs{n}", f"relus{n}_", (Dense("W", n), ReLU(), Sum()),
                 f"the sum of {n} ReLUs (relus:2 is two_relu)",
                 # The output adds n units: the lesson's 0.03 for two, scaled down as n grows.
                 {"optimizer": "adam", "epochs": max(1000, 250 * n), "lr": float(f"{0.06 / n:.2g}"),
                  "restarts": max(8, 256 // n)})


def _mlp(m):
    hidden = [_units(k) for k in m[1].split("-")]
    if len(hidden) > 3:
        raise ValueError("at most 3 hidden layers")
    sigmoid = bool(m[2])
    key = "-".join(map(str, hidden))
    tag = "_".join(map(str, hidden))
    layers: list[Layer] = []
    for i, h in enumerate(hidden):
        layers += [Dense(f"W{i + 1}", h, None if i == 0 else f"b{i + 1}", label="Lin"), ReLU()]
    out = len(hidden) + 1
    layers.append(Dense(f"w{out}", 1, f"b{out}", label="Preds"))
    if sigmoid:
        layers.append(Sigmoid())
    shape = " x ".join(map(str, hidden))
    return Model(f"mlp:{key}" + (":sigmoid" if sigmoid else ""),
                 f"MLP {shape}" + (" sigmoid" if sigmoid else ""), f"MLP{tag}" + ("s" if sigmoid else ""),
                 f"mlp{tag}{'s' if sigmoid else ''}_", tuple(layers),
                 f"{len(hidden)} hidden layer{'s' if len(hidden) > 1 else ''} of ReLUs ({shape}), output weights "
                 "and a bias" + (", then a sigmoid" if sigmoid else ""),
                 {"optimizer": "adam", "epochs": 1000, "lr": 0.03, "restarts": 16},
                 sklearn=f"sklearn_mlp:{key}" if not sigmoid else None)


FAMILIES = (
    Family("linear", "linear", _linear, r"linear"),
    Family("two_relu", "two_relu", _two_relu, r"two_relu"),
    Family("logistic", "logistic", _logistic, r"logistic"),
    Family("relus:N", "relus:8", _relus, r"relus:(\d+)"),
    Family("mlp:H[-H2[-H3]][:sigmoid]", "mlp:8-4", _mlp, r"mlp:(\d+(?:-\d+)*)(:sigmoid)?"),
)
DEFAULT_MODELS = ("linear", "two_relu")


def get(name: str) -> Model:
    """The model `name` (e.g. linear, relus:4, mlp:8-4); ValueError naming the choices."""
    for family in FAMILIES:
        m = re.fullmatch(family.regex, name.strip())
        if m:
            try:
                return family.build(m)
            except ValueError as exc:
                raise ValueError(f"{name.strip()}: {exc}") from None
    raise ValueError(f"unknown model {name!r}: choose from {choices()}")


def hidden_sizes(model: Model) -> tuple[int, ...]:
    """The widths of a model's hidden layers (scikit-learn's hidden_layer_sizes)."""
    return tuple(layer.out for layer in model.layers[:-1] if isinstance(layer, Dense))


def choices() -> str:
    return ", ".join(f.pattern for f in FAMILIES)


def table_markdown(n_features: int = 10) -> str:
    """docs/models.md's table of models, from the registry (a test keeps it in step)."""
    lines = ["| `--models` | example | parameters on the lesson's 10 features | default training | what it is |",
             "|---|---|---|---|---|"]
    for family in FAMILIES:
        m = get(family.example)
        d = m.defaults
        how = ("conjugate gradient, at most {epochs} steps" if d["optimizer"] == "cg"
               else "{optimizer}, {epochs} steps, lr {lr}, {restarts} starts").format(**d)
        lines.append(f"| `{family.pattern}` | `{family.example}` | {m.size(n_features)} | {how} | {m.about} |")
    return "\n".join(lines) + "\n"


LINEAR = get("linear")
TWO_RELU = get("two_relu")
MODELS = {m.name: m for m in (LINEAR, TWO_RELU)}  # the lesson's two, fit's default
