"""Easing curves: endpoints, known values, the Penner formulas, CSS cubic-bezier, serialisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rackfocus_live.timeline.easing import (
    CSS_PRESETS,
    FAMILIES,
    MONOTONIC_FAMILIES,
    Easing,
    cubic_bezier,
    easing_from_json,
    easing_names,
    get_easing,
    menu_groups,
    solve_bezier_t,
)

U = np.linspace(0.0, 1.0, 1001)

# -- independent scalar references (easings.net formulas, written out one by one) ---------------

C1 = 1.70158
C2 = C1 * 1.525
C3 = C1 + 1
C4 = 2 * math.pi / 3
C5 = 2 * math.pi / 4.5


def _bounce_out(x: float) -> float:
    n1, d1 = 7.5625, 2.75
    if x < 1 / d1:
        return n1 * x * x
    if x < 2 / d1:
        x -= 1.5 / d1
        return n1 * x * x + 0.75
    if x < 2.5 / d1:
        x -= 2.25 / d1
        return n1 * x * x + 0.9375
    x -= 2.625 / d1
    return n1 * x * x + 0.984375


REFERENCE = {
    "sine-in": lambda x: 1 - math.cos(x * math.pi / 2),
    "sine-out": lambda x: math.sin(x * math.pi / 2),
    "sine-in-out": lambda x: -(math.cos(math.pi * x) - 1) / 2,
    "quad-in": lambda x: x * x,
    "quad-out": lambda x: 1 - (1 - x) ** 2,
    "quad-in-out": lambda x: 2 * x * x if x < 0.5 else 1 - (-2 * x + 2) ** 2 / 2,
    "cubic-in": lambda x: x**3,
    "cubic-out": lambda x: 1 - (1 - x) ** 3,
    "cubic-in-out": lambda x: 4 * x**3 if x < 0.5 else 1 - (-2 * x + 2) ** 3 / 2,
    "quart-in": lambda x: x**4,
    "quart-out": lambda x: 1 - (1 - x) ** 4,
    "quart-in-out": lambda x: 8 * x**4 if x < 0.5 else 1 - (-2 * x + 2) ** 4 / 2,
    "quint-in": lambda x: x**5,
    "quint-out": lambda x: 1 - (1 - x) ** 5,
    "quint-in-out": lambda x: 16 * x**5 if x < 0.5 else 1 - (-2 * x + 2) ** 5 / 2,
    "expo-in": lambda x: 0 if x == 0 else 2 ** (10 * x - 10),
    "expo-out": lambda x: 1 if x == 1 else 1 - 2 ** (-10 * x),
    "expo-in-out": lambda x: (0 if x == 0 else 1 if x == 1 else
                              2 ** (20 * x - 10) / 2 if x < 0.5 else (2 - 2 ** (-20 * x + 10)) / 2),
    "circ-in": lambda x: 1 - math.sqrt(1 - x * x),
    "circ-out": lambda x: math.sqrt(1 - (x - 1) ** 2),
    "circ-in-out": lambda x: ((1 - math.sqrt(1 - (2 * x) ** 2)) / 2 if x < 0.5
                              else (math.sqrt(1 - (-2 * x + 2) ** 2) + 1) / 2),
    "back-in": lambda x: C3 * x**3 - C1 * x**2,
    "back-out": lambda x: 1 + C3 * (x - 1) ** 3 + C1 * (x - 1) ** 2,
    "back-in-out": lambda x: (((2 * x) ** 2 * ((C2 + 1) * 2 * x - C2)) / 2 if x < 0.5
                              else ((2 * x - 2) ** 2 * ((C2 + 1) * (x * 2 - 2) + C2) + 2) / 2),
    "elastic-in": lambda x: (0 if x == 0 else 1 if x == 1 else
                             -(2 ** (10 * x - 10)) * math.sin((x * 10 - 10.75) * C4)),
    "elastic-out": lambda x: (0 if x == 0 else 1 if x == 1 else
                              2 ** (-10 * x) * math.sin((x * 10 - 0.75) * C4) + 1),
    "elastic-in-out": lambda x: (
        0 if x == 0 else 1 if x == 1 else
        -(2 ** (20 * x - 10) * math.sin((20 * x - 11.125) * C5)) / 2 if x < 0.5
        else (2 ** (-20 * x + 10) * math.sin((20 * x - 11.125) * C5)) / 2 + 1),
    "bounce-in": lambda x: 1 - _bounce_out(1 - x),
    "bounce-out": _bounce_out,
    "bounce-in-out": lambda x: ((1 - _bounce_out(1 - 2 * x)) / 2 if x < 0.5
                                else (1 + _bounce_out(2 * x - 1)) / 2),
}


def _parametric_css(handles: tuple[float, float, float, float], x: np.ndarray) -> np.ndarray:
    """Independent CSS evaluation: sample the curve densely in t and interpolate y at x."""
    x1, y1, x2, y2 = handles
    t = np.linspace(0.0, 1.0, 400_001)
    bx = 3 * (1 - t) ** 2 * t * x1 + 3 * (1 - t) * t**2 * x2 + t**3
    by = 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t**2 * y2 + t**3
    return np.interp(x, bx, by)


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", easing_names())
def test_endpoints_are_exact_and_outside_is_clamped(name: str) -> None:
    e = get_easing(name)
    out = e(np.array([-1.0, 0.0, 1.0, 2.0]))
    assert out.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert e.scalar(0.0) == 0.0 and e.scalar(1.0) == 1.0


def test_registry_has_every_family_mode_and_the_css_presets() -> None:
    names = set(easing_names())
    for family in FAMILIES:
        for mode in ("in", "out", "in-out"):
            assert f"{family}-{mode}" in names
    assert {"hold", "linear", *CSS_PRESETS} <= names
    grouped = [n for _, group in menu_groups() for n in group]
    assert sorted(grouped) == sorted(names)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_family_matches_the_published_formula(name: str) -> None:
    got = get_easing(name)(U)
    want = np.array([REFERENCE[name](float(x)) for x in U])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "u", "value"),
    [
        ("quad-in", 0.5, 0.25),
        ("quad-out", 0.5, 0.75),
        ("cubic-in", 0.5, 0.125),
        ("quart-in", 0.5, 0.0625),
        ("quint-in", 0.5, 0.03125),
        ("expo-in", 0.5, 0.03125),
        ("sine-in", 0.5, 1 - math.sqrt(0.5)),
        ("circ-in", 0.5, 1 - math.sqrt(0.75)),
        ("linear", 0.3, 0.3),
        ("hold", 0.999, 0.0),
        ("bounce-out", 1 / 2.75, 1.0),
        *[(f"{f}-in-out", 0.5, 0.5) for f in FAMILIES],
    ],
)
def test_known_values(name: str, u: float, value: float) -> None:
    assert get_easing(name).scalar(u) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize(
    "name",
    ["linear", "hold", *CSS_PRESETS,
     *[f"{f}-{m}" for f in MONOTONIC_FAMILIES for m in ("in", "out", "in-out")]],
)
def test_monotone_eases_never_reverse_or_overshoot(name: str) -> None:
    v = get_easing(name)(U)
    assert np.all(np.diff(v) >= -1e-12)
    assert v.min() >= 0.0 and v.max() <= 1.0


def test_overshooting_families_do_overshoot() -> None:
    assert get_easing("back-in")(U).min() < -0.09
    assert get_easing("back-out")(U).max() > 1.09
    assert get_easing("elastic-out")(U).max() > 1.3
    bounce = get_easing("bounce-out")(U)
    assert np.any(np.diff(bounce) < 0) and bounce.max() <= 1.0 + 1e-12


def test_css_ease_at_half_is_08024() -> None:
    ease = get_easing("ease")
    assert ease.scalar(0.5) == pytest.approx(0.8024033877399112, abs=1e-9)
    assert ease.scalar(0.5) == pytest.approx(float(_parametric_css(CSS_PRESETS["ease"],
                                                                   np.array([0.5]))[0]), abs=1e-8)


@pytest.mark.parametrize(
    "handles",
    [
        (0.25, 0.1, 0.25, 1.0),
        (0.42, 0.0, 0.58, 1.0),
        (1.0, 0.0, 0.0, 1.0),  # x'(t) = 0 at t = 0.5: Newton stalls, bisection must finish
        (0.0, 1.0, 1.0, 0.0),
        (0.68, -0.55, 0.265, 1.55),  # CSS "back" handles: y leaves [0, 1]
        (0.9, 0.1, 0.1, 0.9),
        (0.0, 0.0, 0.0, 0.0),
    ],
)
def test_cubic_bezier_matches_dense_parametric_sampling(
    handles: tuple[float, float, float, float], rng: np.random.Generator
) -> None:
    x = np.concatenate([rng.random(200), [0.5, 1e-9, 1 - 1e-9]])
    got = cubic_bezier(*handles)(x)
    # The dense reference itself is only good to a few 1e-6 where x(t) has a vertical tangent.
    np.testing.assert_allclose(got, _parametric_css(handles, x), atol=1e-5)


@pytest.mark.parametrize("handles", [(0.25, 0.1), (1.0, 0.0), (0.0, 1.0), (0.5, 0.5)])
def test_bezier_solver_inverts_x(handles: tuple[float, float]) -> None:
    x1, x2 = handles
    t = solve_bezier_t(U, x1, x2)
    bx = 3 * (1 - t) ** 2 * t * x1 + 3 * (1 - t) * t**2 * x2 + t**3
    np.testing.assert_allclose(bx, U, atol=1e-11)


def test_slice_is_the_renormalised_part_of_its_base() -> None:
    base = get_easing("cubic-in-out")
    part = base.sliced(0.2, 0.7)
    u = np.linspace(0, 1, 51)
    b0, b1 = base.scalar(0.2), base.scalar(0.7)
    np.testing.assert_allclose(part(u), (base(0.2 + 0.5 * u) - b0) / (b1 - b0), atol=1e-14)
    # Slices of slices flatten into one slice of the base.
    nested = part.sliced(0.5, 1.0)
    assert nested.base == base and nested.span == pytest.approx((0.45, 0.7))
    assert get_easing("linear").sliced(0.3, 0.6) == get_easing("linear")
    assert get_easing("hold").sliced(0.3, 0.6) == get_easing("hold")


@pytest.mark.parametrize(
    "easing",
    [*(get_easing(n) for n in easing_names()), cubic_bezier(0.1, -0.3, 0.7, 1.2),
     get_easing("elastic-out").sliced(0.125, 0.875)],
    ids=lambda e: e.label,
)
def test_json_round_trip_is_exact(easing: Easing) -> None:
    assert easing_from_json(easing.to_json()) == easing


@pytest.mark.parametrize(
    "bad",
    ["nope", "cubic-bezier(2, 0, 0, 1)", "cubic-bezier(a, b, c, d)", "cubic-bezier(nan,0,1,1)",
     5, None, [], {"slice": [0.5, 0.2], "of": "linear"}, {"slice": [0, 1]},
     {"slice": ["a", 1], "of": "linear"}, {"slice": [0, 10**400], "of": "linear"}],
)
def test_bad_json_raises_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        easing_from_json(bad)


def test_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        get_easing("ease-sideways")
