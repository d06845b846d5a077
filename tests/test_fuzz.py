"""Property tests (hypothesis): the keyframe loader, the CSV importer and the depth-convention
mapping never fail with anything but ``InputError`` naming the source, and valid inputs
round-trip exactly.

``tests/test_keyfile.py`` fuzzes mutations, truncations and byte edits of one real file; this
module adds documents built from scratch around the schema, arbitrary bytes, and generated valid
pulls. Example counts stay modest (the suite runs on two cores); ``derandomize`` keeps runs
reproducible.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rackfocus_live.depth import DEPTH_KINDS, DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import cubic_bezier, get_easing
from rackfocus_live.timeline.interop import csv_text, parse_csv
from rackfocus_live.timeline.keyfile import (
    SCHEMA,
    MediaIdentity,
    Pull,
    dumps_pull,
    parse_pull,
)
from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark, Samples

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ROUND_TRIP = settings(max_examples=60, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])

EASINGS = ("linear", "hold", "ease", "ease-in-out", "sine-in-out", "back-out", "expo-in",
           "wobble", "", "cubic-bezier(0.1, 0.2, 0.3, 0.4)")
FIELDS = ("time", "frame", "focus_m", "f_stop", "easing", "mark", "label", "name", "fps",
          "space", "kind", "near", "far", "scale", "focal_length_mm", "blades", "frame_count",
          "size", "duration")

# -- keyframe loader -------------------------------------------------------------------------------

_SCALAR = (
    st.none() | st.booleans() | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(EASINGS)
    | st.sampled_from(["24", "24000/1001", "0/1", "1/0", "inf", "-inf", "nan", "A", "linear",
                       "inverse", "metric", "disparity"])
    | st.text(max_size=6)
)
# Objects keyed by the schema's own field names, so documents get past the first checks.
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), inner, max_size=5),
    max_leaves=12,
)
_SECTIONS = ("media", "depth", "lens", "track", "marks", "keys", "samples", "baked")


@st.composite
def keyfile_documents(draw: st.DrawFn) -> str:
    doc: dict[str, Any] = {"schema": SCHEMA,
                           "version": draw(st.sampled_from([1, 1.0, 2, 0, "1", None, True]))}
    for name in draw(st.lists(st.sampled_from(_SECTIONS), unique=True, max_size=6)):
        doc[name] = draw(_JSON)
    return json.dumps(doc, allow_nan=True)


def _loads_or_input_error(data: bytes | str) -> None:
    try:
        loaded = parse_pull(data, "fuzz.json")
    except InputError as exc:
        assert str(exc).startswith("fuzz.json: ") and exc.problem
        assert "\n" not in str(exc)
    else:
        track = loaded.pull.track
        assert isinstance(track, FocusTrack)
        if track.keys:  # what loaded is usable: it evaluates to finite, positive focus
            values = track.bake(8, track.fps)
            assert np.all(np.isfinite(values)) and np.all(values > 0)


@FUZZ
@given(keyfile_documents())
def test_keyfile_documents_load_or_give_input_errors(text: str) -> None:
    _loads_or_input_error(text)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_keyfile_bytes_load_or_give_input_errors(data: bytes) -> None:
    _loads_or_input_error(data)


_FOCUS = st.floats(0.05, 5000.0)
_STOP = st.floats(0.7, 64.0)
_NAMED = st.sampled_from(["linear", "hold", "ease", "ease-in-out", "sine-in-out", "back-out"])


@st.composite
def pulls(draw: st.DrawFn) -> Pull:
    fps = draw(st.sampled_from([Fraction(24), Fraction(24000, 1001), Fraction(25), Fraction(60)]))
    times = sorted(draw(st.sets(st.integers(0, 20_000), min_size=0, max_size=8)))
    marks = [Mark(label, draw(st.text(max_size=8)), draw(_FOCUS))
             for label in draw(st.lists(st.sampled_from("ABCD"), unique=True, max_size=3))]
    keys = []
    for ms in times:
        easing = draw(_NAMED.map(get_easing) | st.builds(
            cubic_bezier, st.floats(0, 1), st.floats(-2, 2), st.floats(0, 1), st.floats(-2, 2)))
        mark = draw(st.none() | st.sampled_from([m.label for m in marks] or [None]))
        keys.append(Key(ms / 1000, draw(_FOCUS), draw(st.none() | _STOP), easing, mark))
    n = draw(st.integers(0, 6))
    sample_t = sorted(draw(st.sets(st.integers(0, 20_000), min_size=n, max_size=n)))
    stops = draw(st.none() | st.lists(st.none() | _STOP, min_size=n, max_size=n))
    samples = Samples([t / 1000 for t in sample_t], draw(st.lists(_FOCUS, min_size=n, max_size=n)),
                      None if stops is None else [math.nan if s is None else s for s in stops])
    track = FocusTrack(keys, fps=fps, space=draw(st.sampled_from(["inverse", "linear"])),
                       marks=marks, samples=samples)
    frames = draw(st.integers(1, 600))
    media = draw(st.none() | st.just(MediaIdentity(draw(st.text(min_size=1, max_size=12)),
                                                   draw(st.integers(0, 2**40)),
                                                   float(frames / fps), fps, frames)))
    near = draw(st.floats(0.1, 10.0))
    kind = draw(st.sampled_from(DEPTH_KINDS))
    far = draw(st.floats(near * 1.5, 1e4) | st.just(math.inf)) if kind != "normalized" else \
        draw(st.floats(near * 1.5, 1e4))
    depth = draw(st.none() | st.just(DepthMapping(kind, draw(st.none() | st.floats(1e-4, 10.0)),
                                                  near, far)))
    lens = draw(st.none() | st.builds(
        LensState, st.floats(8.0, 200.0), _STOP, st.floats(5.0, 50.0), st.floats(0.5, 100.0),
        st.sampled_from([0, 5, 9]), st.floats(-90, 90), st.sampled_from([1.0, 1.33, 2.0]),
        st.booleans()))
    return Pull(track, media, depth, lens)


@ROUND_TRIP
@given(pulls())
def test_valid_pulls_round_trip_exactly(pull: Pull) -> None:
    data = dumps_pull(pull)
    loaded = parse_pull(data, "p.json")
    assert loaded.warnings == []
    assert loaded.pull == pull
    assert dumps_pull(loaded.pull) == data  # stable byte for byte


# -- CSV importer ----------------------------------------------------------------------------------

_CELL = (st.sampled_from(["", "0", "1", "-1", "2.5", "1e308", "1e-320", "nan", "inf", "-0",
                          "24", "0x10", " 3 ", "1/2", "abc", "1e999"])
         | st.floats(allow_nan=True, allow_infinity=True).map(repr)
         | st.integers(-(10**12), 10**12).map(str) | st.text(max_size=5))
_HEADER = st.lists(st.sampled_from(["frame", "time", "focus_m", "f_stop", "FOCUS_M", " time ",
                                    "x", ""]), min_size=1, max_size=5)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(_HEADER)
    rows = draw(st.lists(st.lists(_CELL, max_size=len(header) + 1), max_size=8))
    sep = draw(st.sampled_from(["\n", "\r\n"]))
    return sep.join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", sep]))


@FUZZ
@given(csv_texts() | st.text(max_size=200))
@example("frame,time,focus_m\n1,1e-320,2\n")  # the rate guess frame / time overflows
@example("time,focus_m\n0,2\n1e-300,3\n")  # two rows closer than the track's resolution
def test_csv_import_gives_a_track_or_input_error(text: str) -> None:
    try:
        track = parse_csv(text, "in.csv")
    except InputError as exc:
        assert str(exc).startswith("in.csv: ") and "\n" not in str(exc)
    else:
        assert track.keys
        values = track.bake(4, track.fps)
        assert np.all(np.isfinite(values)) and np.all(values > 0)


@ROUND_TRIP
@given(st.lists(st.tuples(st.floats(0.05, 5000.0), st.none() | _STOP), min_size=1, max_size=30),
       st.sampled_from([Fraction(24), Fraction(24000, 1001), Fraction(50)]))
def test_csv_round_trip_reproduces_every_frame(rows: list[tuple[float, float | None]],
                                               fps: Fraction) -> None:
    stops = [s for _, s in rows]
    keys = [Key(float(i / fps), f, None if any(s is None for s in stops) else s)
            for i, (f, s) in enumerate(rows)]
    track = FocusTrack(keys, fps=fps)
    n = len(rows)
    # The rate is inferred from the rows (one row has none to infer from: 24 is assumed).
    back = parse_csv(csv_text(track, n), "rt.csv", fps=fps if n == 1 else None)
    assert back.fps == fps
    np.testing.assert_array_equal(back.bake(n, fps), track.bake(n, fps))
    a, b = back.bake_f_stop(n, fps), track.bake_f_stop(n, fps)
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        np.testing.assert_array_equal(a, b)


# -- depth-convention mapping ----------------------------------------------------------------------

_DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.uint8, np.uint16, np.int16,
                           np.int32, np.int64, np.uint32])


@st.composite
def depth_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12))
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8) | \
            st.sampled_from([0.0, -0.0, 1e-40, 1e-300, 1.0, 0.5, 65504.0])
    else:
        elements = st.integers(np.iinfo(dtype).min, np.iinfo(dtype).max)
    return draw(hnp.arrays(dtype, shape, elements=elements))


_MAPPINGS = st.one_of(
    st.builds(DepthMapping, st.just("metric"), st.none() | st.sampled_from(
        [1e-300, 1e-6, 0.001, 1.0, 1e6, 1e300])),
    st.builds(DepthMapping, st.sampled_from(["disparity", "normalized"]), st.none(),
              st.sampled_from([1e-6, 0.1, 1.0]), st.sampled_from([2.0, 20.0, 1e12])),
    st.builds(DepthMapping, st.just("disparity"), st.none(), st.sampled_from([1e-30, 0.5]),
              st.just(math.inf)),
)


@FUZZ
@given(depth_arrays(), _MAPPINGS)
def test_depth_mapping_gives_finite_inverse_depth_or_input_error(raw: np.ndarray,
                                                                  mapping: DepthMapping) -> None:
    try:
        w = mapping.to_inverse_depth(raw, "d.exr")
    except InputError as exc:
        assert str(exc).startswith("d.exr: depth has no valid samples")
        return
    assert w.dtype == np.float32 and w.shape == raw.shape
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    # Valid samples keep their own value; only invalid ones are filled.
    w_raw, valid = mapping.to_inverse_depth_raw(raw)
    np.testing.assert_array_equal(w[valid], w_raw[valid])


@pytest.mark.parametrize("mapping", [DepthMapping("metric"),
                                     DepthMapping("disparity", None, 1e-40, 1.0)])
def test_inverse_depth_beyond_float32_is_invalid_not_infinite(mapping: DepthMapping) -> None:
    """A metric depth of 1e-40 m, or a near disparity mapped to a near plane of 1e-40 m, has an
    inverse depth beyond float32: an invalid sample, filled from its neighbours."""
    raw = np.array([[1e-40, 2.0], [2.0, 2.0]], np.float32) if mapping.kind == "metric" else \
        np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    w = mapping.to_inverse_depth(raw)
    assert np.all(np.isfinite(w))
    assert w[0, 0] == w[0, 1] == w[1, 1]
