"""Driver attribution: how much of a metric's change each driver explains, for metrics whose
`driver_formula` is an exact arithmetic relation of their drivers.

- additive (a sum or difference of drivers, e.g. revenue - cogs, dso + dio - dpo): each driver
  contributes its own change times its coefficient; exact by construction;
- multiplicative or ratio (a product / quotient of drivers, e.g. orders_booked * average_order_value,
  operating_expense / revenue): LMDI (log-mean Divisia index) when the metric and every driver are
  positive in both periods, Shapley otherwise (zero or negative values);
- anything else (e.g. (revenue - cogs - operating_expense) / revenue): Shapley.

Shapley values are exact averages of the driver's marginal effect over every order in which the
drivers can change, so they always sum to f(new) - f(old). Pure functions, no I/O.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from itertools import combinations

ADDITIVE = "additive"
LMDI = "lmdi"
SHAPLEY = "shapley"


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Formula:
    text: str
    drivers: tuple[str, ...]  # in order of first appearance
    kind: str  # "additive" | "multiplicative" | "general"
    coefficients: dict[str, float]  # additive: d metric / d driver; multiplicative: the exponent
    _code: object

    def evaluate(self, values: dict[str, float]) -> float | None:
        try:
            return float(eval(self._code, {"__builtins__": {}}, dict(values)))  # noqa: S307 - parsed, names only
        except ZeroDivisionError:
            return None


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant, ast.Add, ast.Sub,
            ast.Mult, ast.Div, ast.USub, ast.UAdd)  # fmt: skip


def parse_formula(text: str) -> Formula:
    """Parse a driver formula: metric names, numbers, + - * / and parentheses."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"cannot parse driver formula {text!r}: {exc.msg}") from None
    drivers: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise FormulaError(f"driver formula {text!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise FormulaError(f"driver formula {text!r}: only numbers and metric names")
    drivers = list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))
    code = compile(tree, "<driver_formula>", "eval")
    linear = _linear(tree.body)
    if linear is not None:
        return Formula(text, tuple(drivers), "additive", linear, code)
    monomial = _monomial(tree.body)
    if monomial is not None:
        return Formula(text, tuple(drivers), "multiplicative", monomial, code)
    return Formula(text, tuple(drivers), "general", {}, code)


def _linear(node) -> dict[str, float] | None:
    """Coefficients when the expression is a signed sum of distinct names, else None."""
    if isinstance(node, ast.Name):
        return {node.id: 1.0}
    if isinstance(node, ast.UnaryOp):
        inner = _linear(node.operand)
        if inner is None:
            return None
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return {k: sign * v for k, v in inner.items()}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        left, right = _linear(node.left), _linear(node.right)
        if left is None or right is None or set(left) & set(right):
            return None
        sign = -1.0 if isinstance(node.op, ast.Sub) else 1.0
        return {**left, **{k: sign * v for k, v in right.items()}}
    return None


def _monomial(node) -> dict[str, float] | None:
    """Exponents when the expression is a product / quotient of distinct names, else None."""
    if isinstance(node, ast.Name):
        return {node.id: 1.0}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        left, right = _monomial(node.left), _monomial(node.right)
        if left is None or right is None or set(left) & set(right):
            return None
        sign = -1.0 if isinstance(node.op, ast.Div) else 1.0
        return {**left, **{k: sign * v for k, v in right.items()}}
    return None


@dataclass(frozen=True)
class Attribution:
    change: float  # f(new drivers) - f(old drivers)
    contributions: dict[str, float]
    method: str


def _log_ratio(new: float, old: float) -> float:
    """ln(new / old), accurate also when new and old are close (log1p of the relative change)."""
    return math.log1p((new - old) / old)


def _log_mean(a: float, b: float) -> float:
    if a == b:
        return a
    return (a - b) / _log_ratio(a, b)


def attribute(formula: Formula, old: dict[str, float], new: dict[str, float]) -> Attribution | None:
    """Split f(new) - f(old) into one contribution per driver. None when the metric is undefined
    (a zero denominator) in either period or a driver value is unknown."""
    for values in (old, new):
        if any(values.get(d) is None or math.isnan(values[d]) for d in formula.drivers):
            return None
    y0, y1 = formula.evaluate(old), formula.evaluate(new)
    if y0 is None or y1 is None:
        return None
    change = y1 - y0
    if formula.kind == "additive":
        contributions = {d: c * (new[d] - old[d]) for d, c in formula.coefficients.items()}
        return Attribution(change, contributions, ADDITIVE)
    if formula.kind == "multiplicative" and all(
        v > 0 for v in [y0, y1, *(old[d] for d in formula.drivers), *(new[d] for d in formula.drivers)]
    ):
        weight = _log_mean(y1, y0)
        contributions = {d: weight * e * _log_ratio(new[d], old[d]) for d, e in formula.coefficients.items()}
        # the LMDI identity sum = change holds exactly; rescaling by their ratio (1 up to rounding)
        # removes only the floating-point residue of the logarithms
        total = math.fsum(contributions.values())
        if total != 0 and change != 0:
            contributions = {d: c * (change / total) for d, c in contributions.items()}
        return Attribution(change, contributions, LMDI)
    contributions = shapley(formula, old, new)
    if contributions is None:
        return None
    return Attribution(change, contributions, SHAPLEY)


def shapley(formula: Formula, old: dict[str, float], new: dict[str, float]) -> dict[str, float] | None:
    """Exact Shapley values: driver i's marginal effect f(S + i) - f(S), averaged over every
    subset S of the other drivers (already at their new values) with weight |S|! (n-|S|-1)! / n!."""
    drivers = formula.drivers
    n = len(drivers)
    cache: dict[frozenset, float | None] = {}

    def value(changed: frozenset) -> float | None:
        if changed not in cache:
            cache[changed] = formula.evaluate({d: (new[d] if d in changed else old[d]) for d in drivers})
        return cache[changed]

    result = {}
    for driver in drivers:
        others = [d for d in drivers if d != driver]
        terms = []
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in combinations(others, size):
                with_driver, without = value(frozenset(subset) | {driver}), value(frozenset(subset))
                if with_driver is None or without is None:
                    return None
                terms.append(weight * (with_driver - without))
        result[driver] = math.fsum(terms)
    return result
