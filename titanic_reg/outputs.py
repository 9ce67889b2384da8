"""Outputs: a model's last step, from its score to a prediction and a 0/1 decision.

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
