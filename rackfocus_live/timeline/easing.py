"""Easing curves for focus pulls: progress u in [0, 1] -> eased progress. Pure numpy.

Every easing maps u = 0 to exactly 0 and u = 1 to exactly 1 (the endpoints are forced, not left
to floating-point luck, so a key's value is hit exactly). Between them the named overshooting
families (back, elastic) leave [0, 1] on purpose.

Kinds:

``hold``
    Stays at the segment's start value until the next key (a cut in focus).
``linear``
    Even progress.
``cubic-bezier(x1, y1, x2, y2)``
    CSS semantics: the curve runs from (0, 0) to (1, 1) through handles (x1, y1), (x2, y2) with
    x1, x2 in [0, 1]; the eased value at u is the curve's y where its x equals u. x(t) is solved
    by Newton's method with a bisection fallback, to ~1e-12. ``ease``, ``ease-in``, ``ease-out``
    and ``ease-in-out`` are the CSS presets.
``<family>-in | <family>-out | <family>-in-out``
    The familiar Penner family: sine, quad, cubic, quart, quint, expo, circ, back, elastic,
    bounce (formulas as on easings.net).
``slice``
    A sub-range [u0, u1] of another easing, renormalised to run 0 -> 1. Splitting a segment at a
    point in time with two slices keeps the curve exactly as it was (used by "add key on the
    curve" and by punch-in recording).

``Easing`` objects are immutable, hashable and serialise to a short string (or a small dict for
slices) for the keyframe file: see ``to_json`` / ``easing_from_json``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
_Fn = Callable[[FloatArray], FloatArray]

FAMILIES: tuple[str, ...] = (
    "sine", "quad", "cubic", "quart", "quint", "expo", "circ", "back", "elastic", "bounce",
)
MODES: tuple[str, ...] = ("in", "out", "in-out")
#: Families whose curves never leave [0, 1] and never reverse: safe for focus (no overshoot).
MONOTONIC_FAMILIES: tuple[str, ...] = ("sine", "quad", "cubic", "quart", "quint", "expo", "circ")

CSS_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "ease": (0.25, 0.1, 0.25, 1.0),
    "ease-in": (0.42, 0.0, 1.0, 1.0),
    "ease-out": (0.0, 0.0, 0.58, 1.0),
    "ease-in-out": (0.42, 0.0, 0.58, 1.0),
}

# -- the Penner family (u is already clipped to [0, 1]) -----------------------------------------

_POWERS = {"quad": 2, "cubic": 3, "quart": 4, "quint": 5}
_BACK_C1 = 1.70158
_BACK_C2 = _BACK_C1 * 1.525
_BACK_C3 = _BACK_C1 + 1.0
_ELASTIC_C4 = 2.0 * math.pi / 3.0
_ELASTIC_C5 = 2.0 * math.pi / 4.5


def _power_in(p: int) -> _Fn:
    return lambda u: u**p


def _sine_in(u: FloatArray) -> FloatArray:
    return 1.0 - np.cos(u * (math.pi / 2.0))


def _expo_in(u: FloatArray) -> FloatArray:
    # 2^(10u-10) is 2^-10 at u = 0, not 0; the endpoint wrapper pins u = 0 to exactly 0.
    return np.exp2(10.0 * u - 10.0)


def _circ_in(u: FloatArray) -> FloatArray:
    return 1.0 - np.sqrt(np.maximum(1.0 - u * u, 0.0))


def _back_in(u: FloatArray) -> FloatArray:
    return _BACK_C3 * u**3 - _BACK_C1 * u**2


def _elastic_in(u: FloatArray) -> FloatArray:
    return -np.exp2(10.0 * u - 10.0) * np.sin((u * 10.0 - 10.75) * _ELASTIC_C4)


def _bounce_out(u: FloatArray) -> FloatArray:
    n1, d1 = 7.5625, 2.75
    return np.select(
        [u < 1.0 / d1, u < 2.0 / d1, u < 2.5 / d1],
        [
            n1 * u * u,
            n1 * (u - 1.5 / d1) ** 2 + 0.75,
            n1 * (u - 2.25 / d1) ** 2 + 0.9375,
        ],
        n1 * (u - 2.625 / d1) ** 2 + 0.984375,
    )


def _bounce_in(u: FloatArray) -> FloatArray:
    return 1.0 - _bounce_out(1.0 - u)


def _out_of(f_in: _Fn) -> _Fn:
    return lambda u: 1.0 - f_in(1.0 - u)


def _in_out_of(f_in: _Fn) -> _Fn:
    # The in-curve compressed into the first half and its mirror in the second: identical to the
    # easings.net closed forms for every family (checked in the tests), with one definition.
    def f(u: FloatArray) -> FloatArray:
        first = 0.5 * f_in(np.minimum(2.0 * u, 1.0))
        second = 1.0 - 0.5 * f_in(np.minimum(2.0 - 2.0 * u, 1.0))
        return np.where(u < 0.5, first, second)

    return f


def _elastic_in_out(u: FloatArray) -> FloatArray:
    # Elastic in-out has its own period (c5), so it is not the generic mirror of elastic-in.
    s = np.sin((20.0 * u - 11.125) * _ELASTIC_C5)
    first = -0.5 * np.exp2(np.minimum(20.0 * u - 10.0, 0.0)) * s
    second = 0.5 * np.exp2(np.minimum(-20.0 * u + 10.0, 0.0)) * s + 1.0
    return np.where(u < 0.5, first, second)


def _back_in_out(u: FloatArray) -> FloatArray:
    # Back in-out uses the larger overshoot constant c2, as on easings.net.
    a = 2.0 * u
    first = (a * a * ((_BACK_C2 + 1.0) * a - _BACK_C2)) / 2.0
    b = 2.0 * u - 2.0
    second = (b * b * ((_BACK_C2 + 1.0) * b + _BACK_C2) + 2.0) / 2.0
    return np.where(u < 0.5, first, second)


def _family_functions() -> dict[str, _Fn]:
    ins: dict[str, _Fn] = {name: _power_in(p) for name, p in _POWERS.items()}
    ins.update(sine=_sine_in, expo=_expo_in, circ=_circ_in, back=_back_in,
               elastic=_elastic_in, bounce=_bounce_in)
    table: dict[str, _Fn] = {}
    for family in FAMILIES:
        f_in = ins[family]
        table[f"{family}-in"] = f_in
        table[f"{family}-out"] = _bounce_out if family == "bounce" else _out_of(f_in)
        table[f"{family}-in-out"] = _in_out_of(f_in)
    table["elastic-in-out"] = _elastic_in_out
    table["back-in-out"] = _back_in_out
    return table


_FAMILY_FNS: dict[str, _Fn] = _family_functions()

# -- CSS cubic-bezier ---------------------------------------------------------------------------


def _bezier_coeffs(p1: float, p2: float) -> tuple[float, float, float]:
    """Polynomial coefficients (a, b, c) of B(t) = ((a t + b) t + c) t with B(0)=0, B(1)=1."""
    c = 3.0 * p1
    b = 3.0 * (p2 - p1) - c
    a = 1.0 - c - b
    return a, b, c


def solve_bezier_t(x: FloatArray, x1: float, x2: float, tol: float = 1e-12) -> FloatArray:
    """Curve parameter t in [0, 1] with X(t) = x, for control x-coordinates x1, x2 in [0, 1].

    X(t) is non-decreasing when x1, x2 lie in [0, 1], so the root is unique (up to flat parts).
    Newton's method from t = x converges in a few steps almost everywhere; where the derivative
    vanishes or Newton has not converged, bisection on [0, 1] finishes the job.
    """
    a, b, c = _bezier_coeffs(x1, x2)
    x = np.asarray(x, dtype=np.float64)
    t = x.copy()
    for _ in range(8):
        err = ((a * t + b) * t + c) * t - x
        d = (3.0 * a * t + 2.0 * b) * t + c
        ok = np.abs(d) > 1e-9
        t = np.where(ok, t - err / np.where(ok, d, 1.0), t)
        t = np.clip(t, 0.0, 1.0)
    err = ((a * t + b) * t + c) * t - x
    bad = np.abs(err) > tol
    if np.any(bad):
        xb = x[bad]
        lo = np.zeros_like(xb)
        hi = np.ones_like(xb)
        for _ in range(60):  # 2^-60 < 1e-18: beyond double precision
            mid = 0.5 * (lo + hi)
            below = ((a * mid + b) * mid + c) * mid < xb
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        t[bad] = 0.5 * (lo + hi)
    return t


def _cubic_bezier_fn(x1: float, y1: float, x2: float, y2: float) -> _Fn:
    ay, by, cy = _bezier_coeffs(y1, y2)

    def f(u: FloatArray) -> FloatArray:
        t = solve_bezier_t(u, x1, x2)
        return ((ay * t + by) * t + cy) * t

    return f


# -- the Easing value type ----------------------------------------------------------------------

_BEZIER_RE = re.compile(
    r"^\s*cubic-bezier\(\s*([^,()]+),\s*([^,()]+),\s*([^,()]+),\s*([^,()]+)\)\s*$"
)


@dataclass(frozen=True, slots=True)
class Easing:
    """An easing curve, identified by its name (and handles or slice range where it has them).

    Attributes:
        name: "hold", "linear", "cubic-bezier", a CSS preset name, a family name such as
            "sine-in-out", or "slice".
        handles: (x1, y1, x2, y2) for "cubic-bezier"; None otherwise (CSS presets such as
            "ease" are named and resolve their handles from CSS_PRESETS).
        base: the sliced easing, for "slice".
        span: (u0, u1) with 0 <= u0 < u1 <= 1, for "slice".
    """

    name: str
    handles: tuple[float, float, float, float] | None = None
    base: Easing | None = None
    span: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.name == "cubic-bezier":
            if self.handles is None or len(self.handles) != 4:
                raise ValueError("cubic-bezier needs four handle values")
            x1, y1, x2, y2 = self.handles
            if not all(math.isfinite(v) for v in self.handles):
                raise ValueError("cubic-bezier handles must be finite")
            if not (0.0 <= x1 <= 1.0 and 0.0 <= x2 <= 1.0):
                raise ValueError("cubic-bezier x handles must lie in [0, 1]")
            if abs(y1) > 10 or abs(y2) > 10:
                raise ValueError("cubic-bezier y handles must lie in [-10, 10]")
        elif self.name == "slice":
            if self.base is None or self.span is None:
                raise ValueError("slice needs a base easing and a span")
            u0, u1 = self.span
            if not (math.isfinite(u0) and math.isfinite(u1) and 0.0 <= u0 < u1 <= 1.0):
                raise ValueError("slice span must satisfy 0 <= u0 < u1 <= 1")
        elif self.name not in _NAMED:
            raise ValueError(f"unknown easing '{self.name}'")

    # Evaluation -------------------------------------------------------------------------------

    def __call__(self, u: npt.ArrayLike) -> FloatArray:
        """Eased progress for progress ``u`` (clipped to [0, 1]); exact 0 and 1 at the ends."""
        uu = np.asarray(u, dtype=np.float64)
        clipped = np.clip(uu, 0.0, 1.0)
        if self.name == "hold":
            return np.where(uu >= 1.0, 1.0, 0.0)
        inner = self._function()(clipped)
        return np.where(uu <= 0.0, 0.0, np.where(uu >= 1.0, 1.0, inner))

    def scalar(self, u: float) -> float:
        """Eased progress of one value (same arithmetic as the vectorised call)."""
        return float(self(np.array([u], dtype=np.float64))[0])

    def _function(self) -> _Fn:
        if self.name == "linear":
            return lambda u: u
        if self.name == "slice":
            return self._slice_fn()
        handles = self.handles or CSS_PRESETS.get(self.name)
        if handles is not None:
            return _cubic_bezier_fn(*handles)
        return _FAMILY_FNS[self.name]

    def _slice_fn(self) -> _Fn:
        assert self.base is not None and self.span is not None
        base, (u0, u1) = self.base, self.span
        b0 = base.scalar(u0)
        b1 = base.scalar(u1)
        den = b1 - b0

        def f(u: FloatArray) -> FloatArray:
            if abs(den) < 1e-12:
                # Degenerate slice (the base does not rise over it): renormalising would only
                # amplify rounding, and the segment it scales is flat anyway; keep it linear.
                return u
            return (base(u0 + u * (u1 - u0)) - b0) / den

        return f

    # Properties -------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """Text for menus and the file: the name, or CSS syntax for explicit handles."""
        if self.name == "cubic-bezier" and self.handles is not None:
            return "cubic-bezier({:g}, {:g}, {:g}, {:g})".format(*self.handles)
        if self.name == "slice" and self.base is not None and self.span is not None:
            return f"{self.base.label} [{self.span[0]:.3g}..{self.span[1]:.3g}]"
        return self.name

    def sliced(self, u0: float, u1: float) -> Easing:
        """The part of this easing over progress [u0, u1], renormalised to 0 -> 1.

        Hold and linear slice to themselves (exactly); slices of slices are flattened.
        """
        if u0 <= 0.0 and u1 >= 1.0:
            return self
        if self.name in ("linear",):
            return self
        if self.name == "hold":
            # A hold's first part stays at the start value: still a hold. Its last part holds too
            # (it only reaches the next value at the next key).
            return self
        if self.name == "slice" and self.base is not None and self.span is not None:
            a, b = self.span
            return Easing("slice", base=self.base, span=(a + u0 * (b - a), a + u1 * (b - a)))
        return Easing("slice", base=self, span=(u0, u1))

    # Serialisation ----------------------------------------------------------------------------

    def to_json(self) -> str | dict[str, object]:
        """A string (name or ``cubic-bezier(...)``), or for slices a dict."""
        if self.name == "slice" and self.base is not None and self.span is not None:
            return {"slice": [self.span[0], self.span[1]], "of": self.base.to_json()}
        if self.name == "cubic-bezier" and self.handles is not None:
            return "cubic-bezier({!r}, {!r}, {!r}, {!r})".format(*self.handles)
        return self.name


def cubic_bezier(x1: float, y1: float, x2: float, y2: float) -> Easing:
    """A CSS ``cubic-bezier(x1, y1, x2, y2)`` easing."""
    return Easing("cubic-bezier", handles=(float(x1), float(y1), float(x2), float(y2)))


#: Every registered name, in menu order.
_NAMED: tuple[str, ...] = ("hold", "linear", *CSS_PRESETS, *_FAMILY_FNS)


def get_easing(name: str) -> Easing:
    """The easing registered under ``name``, or parsed from ``cubic-bezier(x1, y1, x2, y2)``.

    Raises:
        KeyError: for an unknown name (message lists nothing; use ``easing_names()``).
        ValueError: for a malformed or out-of-range cubic-bezier.
    """
    if name in _NAMED:
        return Easing(name)
    match = _BEZIER_RE.match(name)
    if match is None:
        raise KeyError(name)
    try:
        values = [float(v) for v in match.groups()]
    except ValueError:
        raise ValueError(f"cubic-bezier values must be numbers: {name}") from None
    return cubic_bezier(*values)


def easing_names() -> list[str]:
    """Every registered name, in menu order: hold, linear, CSS presets, then each family."""
    return list(_NAMED)


def menu_groups() -> list[tuple[str, list[str]]]:
    """(group label, names) for an easing menu: basics, CSS, then one group per family."""
    groups: list[tuple[str, list[str]]] = [
        ("basic", ["hold", "linear"]),
        ("CSS", list(CSS_PRESETS)),
    ]
    groups += [(family, [f"{family}-{mode}" for mode in MODES]) for family in FAMILIES]
    return groups


def easing_from_json(value: object, depth: int = 0) -> Easing:
    """Inverse of ``Easing.to_json``.

    Raises:
        ValueError: with a short reason, for anything that is not a valid easing.
    """
    if isinstance(value, str):
        try:
            return get_easing(value)
        except KeyError:
            raise ValueError(f"unknown easing {value!r}") from None
    if isinstance(value, dict) and set(value) == {"slice", "of"} and depth < 8:
        span = value["slice"]
        if not (isinstance(span, list) and len(span) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in span)):
            raise ValueError("slice must be a list of two numbers")
        base = easing_from_json(value["of"], depth + 1)
        try:
            u0, u1 = float(span[0]), float(span[1])
        except OverflowError:
            raise ValueError("slice bounds out of range") from None
        return Easing("slice", base=base, span=(u0, u1))
    raise ValueError(f"expected an easing name or a slice object, got {_short(value)}")


def _short(value: object) -> str:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


HOLD = Easing("hold")
LINEAR = Easing("linear")
