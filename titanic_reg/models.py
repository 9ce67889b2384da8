"""The models: stacks of layers (layers.py) ending in an output (outputs.py), and their registry.

A model is a stack of layers over the feature matrix X (rows x features, the constant Ones
among them); each layer carries its torch form, its formula and its backward formula, so
the model runs forward and backward in torch and writes both out as formulas.

Training, the metrics, the CLI's choices and every sheet read the registry at the bottom
(FAMILIES) and ask a model what they need (is it linear in its parameters, what its sheets
say, does it have a MatMul view): adding a model is one entry there.

Parameters travel as one flat tensor per start, (starts, d), each tensor's values in row
order: one optimizer step and one backward pass serve every tensor of every start.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .layers import Dense, Layer, ReLU, Sum, Tensor
from .losses import MSE, Loss
from .outputs import IDENTITY, SIGMOID, SOFTMAX, Output, Sigmoid, Softmax

if TYPE_CHECKING:  # torch's own methods below: the CLI reads the registry for its help without torch
    import torch


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
    sklearn: str | None = None  # the scikit-learn baseline of the same shape (baselines.py), for the comparison
    sheet_text: str | None = None  # what its sheet shows, for the About sheet (else said from `about`)
    descent_text: str | None = None  # what its Descent sheet shows
    matmul_text: str | None = None  # a MatMul sheet too: the model again, its layers as MMULT array formulas
    class_defaults: dict | None = None  # its training for a target of K classes, where it differs from `defaults`
    class_twin: str | None = None  # its scikit-learn twin for K classes, where it differs from `sklearn`

    @property
    def output(self) -> Output:
        """Its last step, from score to prediction and decision (the identity when it adds no layer)."""
        return self.layers[-1] if isinstance(self.layers[-1], Output) else IDENTITY

    def sheet_about(self) -> str:
        return self.sheet_text or (f"{self.about}: layer by layer, one MMULT array formula per layer over every "
                                   "row, then its activation; the scores per split")

    def descent_about(self) -> str:
        return self.descent_text or (f"the same for the {self.title} model: every tensor's gradient by "
                                     "backpropagation written out")

    @property
    def classes(self) -> bool:
        """It ends in K outputs and a softmax, for a target of K classes."""
        return isinstance(self.output, Softmax)

    def with_classes(self, k: int) -> "Model":
        """The model for a target of k classes: its last layer of weights with k units, then a
        softmax (the linear model becomes multinomial logistic regression). ValueError, naming it,
        for a model that adds its units up into one output (two_relu, relus:N) or that ends in a
        sigmoid (an output for two classes)."""
        if isinstance(self.output, Sigmoid):
            raise ValueError(f"{self.name} ends in a sigmoid, an output for two classes; for {k} classes, linear "
                             f"is multinomial logistic regression ({k} linear units and a softmax)")
        last = max(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        if len(self.layers) > last + 1:
            raise ValueError(f"{self.name} adds its units up into one output, so it has no {k} class scores: for "
                             f"{k} classes choose linear or mlp:H (each ends in {k} outputs and a softmax)")
        layers = (*self.layers[:last], replace(self.layers[last], out=k, label="Score", row_names=()), SOFTMAX)
        return replace(self, title=f"{self.title}, softmax", layers=layers, lesson=False, matmul_text=None,
                       about=f"{self.about}; here {k} outputs, one per class, through a softmax (cross-entropy)",
                       defaults=self.class_defaults or self.defaults, class_defaults=None,
                       sklearn=self.class_twin or self.sklearn, sheet_text=None, descent_text=None)

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

    def flat_refs(self, n_features: int, span) -> dict[str, str]:
        """Each tensor as a matrix formula, from `span(t)`, the range of its values in one row (a
        Descent sheet's step): a one-row tensor is its range; a larger one is rebuilt from it by
        two selector matrices, defined names from column numbers alone (`relu_W_r`, `relu_W_c`):
        MMULT(relu_W_r * row, relu_W_c) puts the row's k-th block of `cols` values in row k."""
        return {t.name: span(t) if t.rows == 1 else f"MMULT({t.name}_r*{span(t)},{t.name}_c)"
                for t in self.tensors(n_features)}

    def descent_rebuild_work(self, n_features: int, loss: Loss = MSE) -> int:
        """Multiply-adds a Descent step spends rebuilding its matrices from the row (flat_refs):
        rows x size x cols for each use of a tensor of several rows, whatever the data's rows. A
        model of K outputs has one (its K units' weights); with many inputs it outweighs the
        gradient itself (a 10-class mlp:16 on 256 pixels: 338 million a step)."""
        refs = self.flat_refs(n_features, lambda t: "ROW")
        pred = self.excel_forward("X", refs, n_features)[-1]
        text = loss.mean_excel(pred, "Y") + "".join(self.excel_gradients("X", "Y", refs, n_features, loss).values())
        return sum(text.count(f"{t.name}_r*") * t.rows * t.size * t.cols
                   for t in self.tensors(n_features) if t.rows > 1)

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
        """(starts, rows); a model of K classes: (starts, rows, K), each row's K probabilities."""
        out = self.forward(X, P)[-1]
        return out.mT if self.classes else out[:, 0]

    def columns(self, n_features: int) -> list[list[str]]:
        """Each layer's column headers on the sheets: Lin1, ReLU1, ... (Lin1.1, ReLU2.3, ... with
        several layers of weights), and Preds for the output (the linear model's own: Linear)."""
        found, depth = [], 0
        deep = sum(isinstance(layer, Dense) for layer in self.layers) > 1
        last = len(self.layers) - 1
        for i, (layer, width) in enumerate(zip(self.layers, self.widths(n_features))):
            depth += isinstance(layer, Dense)
            if i == last and width > 1:  # a softmax: a probability per class
                found.append([f"P{k + 1}" for k in range(width)])
            elif i == last:
                found.append([layer.label if last == 0 else "Preds"])
            elif width == 1 and i == last - 1 and isinstance(self.layers[last], Output):
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

    def excel_gradients(self, X: str, y: str, refs: dict, n_features: int, loss: Loss = MSE) -> dict[str, str]:
        """d loss / d each tensor over the rows X, y: backpropagation written out as formulas.

        The loss's gradient at the output (the MSE's: 2/n (pred - y)), multiplied back through
        each layer: a Dense layer turns the error reaching it into its tensors' gradients
        (error' x its input) and passes error x W back; a ReLU passes the error where its
        input was positive."""
        outs = self.excel_forward(X, refs, n_features)
        ins = [X] + outs[:-1]
        ones = f"ROW({y})^0"
        delta = loss.gradient_excel(outs[-1], y)
        grads = {}
        for i in range(len(self.layers) - 1, -1, -1):
            delta, found = self.layers[i].backward(delta, ins[i], self._context(i, refs, n_features), ones)
            grads.update(found)
        return grads


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
                 {"optimizer": "cg", "epochs": 500, "lr": 0.1, "restarts": 1}, lesson=True, sklearn="sklearn_linear",
                 sheet_text="the linear model: SUMPRODUCT(features, lin_w), squared error, the scores per split",
                 descent_text="plain gradient descent on the linear model, one row per step, all by formula",
                 # Cross-entropy is no quadratic (conjugate gradient does not apply) but it is convex
                 # in these weights: one start finds the one minimum.
                 class_defaults={"optimizer": "adam", "epochs": 1000, "lr": 0.1, "restarts": 1},
                 class_twin="sklearn_logistic")


def _two_relu(m):
    return Model("two_relu", "Two ReLUs", "TwoReLU", "relu_",
                 (Dense("W", 2, row_names=("relu_w1", "relu_w2")), ReLU(), Sum()),
                 "the lesson's two ReLUs added: relu(X w1) + relu(X w2)",
                 {"optimizer": "adam", "epochs": 1000, "lr": 0.03, "restarts": 128}, lesson=True,
                 sheet_text="Lin1, Lin2, ReLU = IF(x<0,0,x), Preds = ReLU1 + ReLU2, the scores per split",
                 descent_text="the same for the two-ReLU model, with each ReLU's mask in the gradient",
                 matmul_text="the two-ReLU model again, both linear layers as one MMULT array formula")


def _logistic(m):
    return Model("logistic", "Logistic", "Logistic", "logit_", (Dense("w", 1, label="Logit"), SIGMOID),
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
        layers.append(SIGMOID)
    shape = " x ".join(map(str, hidden))
    return Model(f"mlp:{key}" + (":sigmoid" if sigmoid else ""),
                 f"MLP {shape}" + (" sigmoid" if sigmoid else ""), f"MLP{tag}" + ("s" if sigmoid else ""),
                 f"mlp{tag}{'s' if sigmoid else ''}_", tuple(layers),
                 f"{len(hidden)} hidden layer{'s' if len(hidden) > 1 else ''} of ReLUs ({shape}), output weights "
                 "and a bias" + (", then a sigmoid" if sigmoid else ""),
                 {"optimizer": "adam", "epochs": 1000, "lr": 0.03, "restarts": 16},
                 sklearn=f"sklearn_mlp:{key}" if not sigmoid else None,  # baselines.py builds it by name
                 # K outputs through a softmax: no sum of hinges to trap in a poor minimum, so
                 # fewer starts (16 took 17 s on the digits' 1,438 rows, 4 take a quarter).
                 class_defaults={"optimizer": "adam", "epochs": 1000, "lr": 0.03, "restarts": 4})


FAMILIES = (
    Family("linear", "linear", _linear, r"linear"),
    Family("two_relu", "two_relu", _two_relu, r"two_relu"),
    Family("logistic", "logistic", _logistic, r"logistic"),
    Family("relus:N", "relus:8", _relus, r"relus:(\d+)"),
    Family("mlp:H[-H2[-H3]][:sigmoid]", "mlp:8-4", _mlp, r"mlp:(\d+(?:-\d+)*)(:sigmoid)?"),
)
DEFAULT_MODELS = ("linear", "two_relu")
# A wide binary table's (infer.py: a quarter as many inputs as training rows, or more): the
# chapter's linear model through a sigmoid, with the lesson's least-squares line to compare.
WIDE_MODELS = ("logistic", "linear")
# A target of K classes (infer.py): the two families that end in K outputs, the linear model
# (multinomial logistic regression) and a small MLP; two_relu adds its units into one output.
CLASS_MODELS = ("linear", "mlp:16")


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


def narrowest() -> Model:
    """The model with the fewest columns on a sheet (one unit over the features): if even it
    cannot be written, the features are the cause, not the model."""
    return get("linear")


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
