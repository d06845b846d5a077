"""The preview governor: draft while a slow picture moves, the chosen preset again when still."""

from __future__ import annotations

from rackfocus_live.ui.adaptive import SETTLE_FRAMES, PreviewGovernor
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


def test_still_too_slow_with_the_draft_halves_the_resolution_then_refines() -> None:
    g = PreviewGovernor(target_fps=20.0)
    assert g.update(0.2, moving=True) and not g.reduced  # first step: the draft preset
    for _ in range(SETTLE_FRAMES):  # the average gets time to see the draft's frames
        g.update(0.2, moving=True)
        assert not g.reduced
    g.update(0.2, moving=True)
    assert g.draft and g.reduced  # the draft alone did not bring frames under 50 ms
    g.update(0.01, moving=True)
    assert g.reduced  # stays while the picture moves (no shimmer between two looks)
    g.update(0.01, moving=False)
    assert not g.draft and not g.reduced  # still: full preset, full size


def test_a_draft_that_keeps_up_stays_at_full_size() -> None:
    g = PreviewGovernor(target_fps=20.0)
    g.update(0.2, moving=True)
    for _ in range(SETTLE_FRAMES + 20):
        g.update(0.02, moving=True)
    assert g.draft and not g.reduced


def test_the_reduced_preview_skips_edge_refinement_but_never_stabilisation() -> None:
    from rackfocus_live.depthcond import DepthConditioning

    state = UiState(conditioning=DepthConditioning(refine=True, stabilise=True))
    assert state.preview_conditioning == state.conditioning
    state.adaptive_draft = True
    assert state.preview_conditioning.refine  # the draft alone keeps the refinement
    state.adaptive_reduced = True
    assert state.preview_conditioning == DepthConditioning(refine=False, stabilise=True)
    assert state.conditioning.refine  # what exports use is untouched
    state.adaptive_reduced = False
    assert state.preview_conditioning.refine  # still again: refined
