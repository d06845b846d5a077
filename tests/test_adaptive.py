"""The preview governor: draft while a slow picture moves, the chosen preset again when still."""

from __future__ import annotations

from rackfocus_live.ui.adaptive import PreviewGovernor
from rackfocus_live.ui.state import UiState


def test_slow_frames_while_moving_ask_for_draft_and_still_refines() -> None:
    g = PreviewGovernor(target_fps=20.0)
    assert not any(g.update(0.02, moving=True) for _ in range(10))  # 50 fps: no need
    assert not g.update(0.06, moving=True)  # one frame a little late: the average is fine
    assert g.update(0.2, moving=True)  # slow frames: the average passes 50 ms
    assert g.update(0.01, moving=True)  # stays draft while the picture keeps moving
    assert not g.update(0.2, moving=False)  # still: the full preset, even if slow


def test_adaptive_draft_changes_the_effective_preset() -> None:
    state = UiState(quality="high")
    assert state.effective_quality == "high"
    state.adaptive_draft = True
    assert state.effective_quality == "draft"
