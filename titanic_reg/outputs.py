"""Outputs: a model's last step, from its score to a prediction and a decision (0/1, or a class).

Each output is a layer (layers.py: its torch form, its formula and its backward formula)
that a model ends with, and says how a prediction becomes a decision, in both renderings:
`decide(pred)` in torch and `decide_excel(cell)` in a cell. The identity adds no layer:
the score is the prediction (the lesson's linear model and ReLUs).
"""
from __future__ import annotations

from dataclasses import dataclass

from .layers import Layer

THRESHOLD = 0.5  # a binary target: a prediction above it says 1


@dataclass(frozen=True)
class Output(Layer):
    """The prediction itself (no layer of its own), decided at THRESHOLD."""

    label: str = "Preds"

    def torch(self, a, t):
        return a

    def excel(self, a, refs):
        return a

    def backward(self, delta, a, refs, ones):
        return delta, {}

    def decide(self, pred):
        return (pred > THRESHOLD).to(pred.dtype)

    def decide_excel(self, pred: str) -> str:
        return f"IF({pred}>{THRESHOLD},1,0)"

    def correct(self, pred, y):
        return (self.decide(pred) == y).to(pred.dtype)

    def correct_excel(self, decision: str, y: str) -> str:
        return f"IF({decision}={y},1,0)"


IDENTITY = Output()


@dataclass(frozen=True)
class Sigmoid(Output):
    """1 / (1 + e^-z): an output between 0 and 1, for a binary target."""

    label: str = "Sigmoid"

    def torch(self, a, t):
        return a.sigmoid()

    def excel(self, a, refs):
        return f"1/(1+EXP(-({a})))"

    def backward(self, delta, a, refs, ones):
        s = self.excel(a, refs)
        return f"({delta})*({s})*(1-{s})", {}


SIGMOID = Sigmoid()


@dataclass(frozen=True)
class Softmax(Output):
    """K class scores z to K probabilities, e^z / sum(e^z), for a target of K classes.

    Both renderings subtract the row's largest score first, as torch does: the same numbers
    (e^z of a score of 800 is past float64; e^(z - max) never is), the same probabilities.
    Its torch form runs over the layers' (starts, K, rows); a model's prediction is laid out
    (starts, rows, K) (models.Model.predict), and `decide` reads that: the class with the
    largest probability (the first among equals, as torch.argmax), as its index 0 to K-1.

    Its backward passes the error on unchanged: the loss it is trained with, cross-entropy,
    gives its gradient at the scores already, p - onehot (losses.CrossEntropy), the form
    that needs neither 1/p nor a K x K Jacobian."""

    label: str = "Softmax"

    def torch(self, a, t):
        e = (a - a.amax(dim=-2, keepdim=True)).exp()
        return e / e.sum(dim=-2, keepdim=True)

    def excel_row(self, a):
        """Over one row's K scores (a 1 x K range or array): the K probabilities, an array formula,
        the row's largest score subtracted first, as torch does."""
        shifted = f"EXP({a}-MAX({a}))"
        return f"{shifted}/SUM({shifted})"

    def excel(self, a, refs):
        """Over every row of a rows x K block at once (the Descent sheets' forward pass, one array
        formula): no engine before dynamic arrays takes a maximum row by row inside an array
        formula, so each row's mean is subtracted instead, by the centring matrix I - 1/K. A
        softmax is the same under any shift of a row, and e^(z - mean) never underflows to a
        row of 0s (its largest is at least 1); it overflows only where a row's scores span
        more than about 700, which plain descent from small starting weights never nears.
        Each row's sum is MMULT by a K x K block of 1s."""
        k = refs["_width"]
        ones = f"ROW($A$1:$A${k})^0"  # K x 1
        centre = f"((ROW($A$1:$A${k})=TRANSPOSE(ROW($A$1:$A${k})))-1/{k})"
        e = f"EXP(MMULT({a},{centre}))"
        return f"{e}/MMULT({e},MMULT({ones},TRANSPOSE({ones})))"

    def backward(self, delta, a, refs, ones):
        return delta, {}

    def decide(self, pred):
        return pred.argmax(dim=-1).to(pred.dtype)

    def decide_excel(self, pred: str) -> str:
        """The class index from one row's K probabilities (a 1 x K range)."""
        return f"MATCH(MAX({pred}),{pred},0)-1"


SOFTMAX = Softmax()
