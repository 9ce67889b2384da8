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

    def excel(self, a, refs):
        """Over one row's K scores (a 1 x K range or array): the K probabilities, an array formula."""
        shifted = f"EXP({a}-MAX({a}))"
        return f"{shifted}/SUM({shifted})"

    def backward(self, delta, a, refs, ones):
        return delta, {}

    def decide(self, pred):
        return pred.argmax(dim=-1).to(pred.dtype)

    def decide_excel(self, pred: str) -> str:
        """The class index from one row's K probabilities (a 1 x K range)."""
        return f"MATCH(MAX({pred}),{pred},0)-1"


SOFTMAX = Softmax()
