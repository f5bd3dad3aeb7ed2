"""Exact fixed-point money arithmetic.

Amounts are int64 in cents, unit prices and standard costs in 1e-4, quantities in 1e-3 (milli-units)
and exchange rates in 1e-8. Everything is computed with integers and rounded half away from zero, so
that the documented rounding rules hold to the cent and the output is identical on every machine.
"""

from __future__ import annotations

import numpy as np

RATE_ONE = 10**8  # an exchange rate of 1.0 (EUR -> EUR)


def rdiv(a, b: int) -> np.ndarray:
    """round(a / b), half away from zero, for int64 a and a positive int b."""
    a = np.asarray(a, dtype=np.int64)
    q = (np.abs(a) * 2 + b) // (2 * b)
    return np.where(a < 0, -q, q).astype(np.int64)


def to_eur(cents, rate_1e8) -> np.ndarray:
    """Transaction-currency cents -> EUR cents at a rate (EUR per unit, 1e-8), rounded to the cent."""
    return rdiv(np.asarray(cents, dtype=np.int64) * np.asarray(rate_1e8, dtype=np.int64), RATE_ONE)


def value_cents(qty_milli, cost_1e4) -> np.ndarray:
    """Quantity (1e-3) x unit cost or price (1e-4) -> cents."""
    return rdiv(np.asarray(qty_milli, dtype=np.int64) * np.asarray(cost_1e4, dtype=np.int64), 10**5)


def round_int(x) -> np.ndarray:
    """Round floats to int64 half away from zero (np.rint would round half to even)."""
    x = np.asarray(x, dtype=float)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)
