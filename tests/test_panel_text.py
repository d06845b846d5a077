"""What the panel says about depth: distances in metres, never a raw number or a bin index."""

from __future__ import annotations

import numpy as np

from rackfocus_live.ui.panel import (
    MESSAGE_COLOURS,
    depth_detail_text,
    distance_text,
    histogram_bin_text,
)
from rackfocus_live.ui.state import MESSAGE_LEVELS


def test_distances_read_in_metres_and_far_ones_as_infinity() -> None:
    assert distance_text(2.4321) == "2.43 m" and distance_text(250.0) == "250 m"
    assert distance_text(1e6) == "inf" and distance_text(float("inf")) == "inf"


def test_histogram_tooltip_names_the_depth_range_and_share() -> None:
    counts = np.array([0, 30, 10, 60], np.float32)  # inverse depth 0.1 .. 0.5 1/m
    text = histogram_bin_text(counts, 3, 0.1, 0.5)  # 0.4 .. 0.5 1/m: 2.0 .. 2.5 m
    assert text == "2.00 m to 2.50 m: 60.0 % of the picture"
    assert histogram_bin_text(counts, 0, 0.0, 0.5).endswith("to inf: 0.0 % of the picture")


def test_every_message_level_has_its_own_colour() -> None:
    colours = {tuple((c.x, c.y, c.z)) for c in (MESSAGE_COLOURS[lv] for lv in MESSAGE_LEVELS)}
    assert len(colours) == len(MESSAGE_LEVELS)


def test_depth_detail_reads_as_a_sentence_and_nothing_before_it_is_known() -> None:
    assert depth_detail_text(None) is None
    assert depth_detail_text(1.0) == "depth detail: as fine as its pixels"
    assert depth_detail_text(2.75).startswith("depth detail: 2.75x coarser than its pixels")
