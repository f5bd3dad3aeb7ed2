"""Attribution: hand-computed cases and a property test (numpy random, fixed seeds): contributions
sum to the change within 1e-9 x max(1, |change|), also with zero and negative values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from finkpi.scorecards.attribution import ADDITIVE, LMDI, SHAPLEY, FormulaError, attribute, parse_formula

FORMULAS = [
    "revenue - cogs",
    "dso + dio - dpo",
    "orders_booked * average_order_value",
    "operating_expense / revenue",
    "gross_profit / revenue",
    "(revenue - cogs - operating_expense) / revenue",
]


def _bound(change: float) -> float:
    return 1e-9 * max(1.0, abs(change))


def test_formula_kinds():
    assert parse_formula("revenue - cogs").kind == "additive"
    assert parse_formula("dso + dio - dpo").coefficients == {"dso": 1.0, "dio": 1.0, "dpo": -1.0}
    assert parse_formula("orders_booked * average_order_value").kind == "multiplicative"
    assert parse_formula("operating_expense / revenue").coefficients == {
        "operating_expense": 1.0,
        "revenue": -1.0,
    }
    assert parse_formula("(revenue - cogs - operating_expense) / revenue").kind == "general"
    with pytest.raises(FormulaError):
        parse_formula("__import__('os')")


def test_additive_by_hand():
    result = attribute(
        parse_formula("revenue - cogs"), {"revenue": 100, "cogs": 60}, {"revenue": 130, "cogs": 75}
    )
    assert result.method == ADDITIVE
    assert result.change == 15
    assert result.contributions == {"revenue": 30, "cogs": -15}


def test_lmdi_by_hand():
    old, new = {"q": 100.0, "p": 10.0}, {"q": 120.0, "p": 11.0}  # 1000 -> 1320
    result = attribute(parse_formula("q * p"), old, new)
    weight = (1320 - 1000) / math.log(1320 / 1000)
    assert result.method == LMDI
    assert result.contributions["q"] == pytest.approx(weight * math.log(1.2))
    assert result.contributions["p"] == pytest.approx(weight * math.log(1.1))
    assert sum(result.contributions.values()) == pytest.approx(320.0, abs=1e-9)


def test_shapley_by_hand_when_a_value_is_negative():
    # q * p with a negative price: LMDI is undefined, Shapley splits the interaction evenly
    old, new = {"q": 10.0, "p": -2.0}, {"q": 20.0, "p": -3.0}  # -20 -> -60
    result = attribute(parse_formula("q * p"), old, new)
    assert result.method == SHAPLEY
    # q: ((20-10)*-2 + (20-10)*-3) / 2 = -25; p: (10*(-1) + 20*(-1)) / 2 = -15
    assert result.contributions == pytest.approx({"q": -25.0, "p": -15.0})


def test_zero_values():
    formula = parse_formula("orders_booked * average_order_value")
    result = attribute(
        formula,
        {"orders_booked": 0.0, "average_order_value": 0.0},
        {"orders_booked": 5.0, "average_order_value": 10.0},
    )
    assert result.method == SHAPLEY
    assert sum(result.contributions.values()) == pytest.approx(50.0)
    # a ratio with a zero denominator is undefined: no attribution
    assert attribute(parse_formula("a / b"), {"a": 1.0, "b": 0.0}, {"a": 2.0, "b": 1.0}) is None


@pytest.mark.parametrize("formula_text", FORMULAS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_contributions_sum_to_the_change(formula_text, seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    formula = parse_formula(formula_text)
    worst = 0.0
    for case in range(400):
        if case % 4 == 0:  # zero and negative values mixed in
            draw = lambda: float(rng.choice([0.0, -1.0, 1.0]) * rng.uniform(0, 1e6))  # noqa: E731
        elif case % 4 == 1:  # near-cancelling changes
            base = {d: float(rng.uniform(1, 1e6)) for d in formula.drivers}
            old = base
            new = {d: v * (1 + float(rng.normal(0, 1e-6))) for d, v in base.items()}
            draw = None
        else:
            draw = lambda: float(rng.uniform(-1e3, 1e7))  # noqa: E731
        if draw is not None:
            old = {d: draw() for d in formula.drivers}
            new = {d: draw() for d in formula.drivers}
        result = attribute(formula, old, new)
        if result is None:  # undefined (a zero denominator): nothing to attribute
            continue
        error = abs(math.fsum(result.contributions.values()) - result.change)
        assert error <= _bound(result.change), (old, new, result)
        worst = max(worst, error / max(1.0, abs(result.change)))
    assert worst <= 1e-9
