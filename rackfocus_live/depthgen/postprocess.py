"""The post-processing hook of depth making: applied to the (rgb, disparity) frames of a clip,
in order, after the model and before quantisation; ``reset()`` starts a new sequence.

The default is the project's depth conditioning (``depthcond.SequenceConditioner``), with the
same temporal stabiliser the preview and export use: it removes the per-frame scale and shift
drift of relative depth (monocular models are affine-invariant: each frame's disparity has its
own unknown scale and offset, which shows as flicker once the clip is quantised with one fixed
mapping) and blends still pixels over time. Edge refinement is not baked in: its numpy reference
takes about 10 s a 720p frame, and the preview and export refine on the GPU as they render.
Pure numpy.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from rackfocus_live.depthcond import SequenceConditioner

Rgb = npt.NDArray[np.uint8]
Disparity = npt.NDArray[np.float32]

class DepthPostProcessor(Protocol):
    """The hook. Called once per frame in display order with the clip frame (HxWx3 uint8, the
    size of the disparity) and the model's relative disparity up-sampled to that size (HxW
    float32, larger = nearer); returns the disparity to write (same shape, float32)."""

    def reset(self) -> None:
        """Forget the previous frames (a new clip, or a jump)."""
        ...

    def __call__(self, rgb: Rgb, disparity: Disparity, /) -> Disparity:
        ...


class PassThrough:
    """No post-processing (each frame as the model gave it)."""

    def reset(self) -> None:
        pass

    def __call__(self, rgb: Rgb, disparity: Disparity) -> Disparity:
        return disparity


def default_postprocessor(*, stabilise: bool = True, refine: bool = False) -> DepthPostProcessor:
    """The hook ``depth`` uses: temporal stabilisation, and edge refinement when asked (baked into
    the file; the numpy reference takes seconds a frame, so it is off unless ``--refine-edges``).
    Neither: :class:`PassThrough`."""
    if not (stabilise or refine):
        return PassThrough()
    return SequenceConditioner(refine=refine, stabilise=stabilise)


def hook_name(hook: DepthPostProcessor) -> str:
    """What the sidecar records of the hook: its type, and for the default which steps ran."""
    if isinstance(hook, SequenceConditioner):
        return f"SequenceConditioner(stabilise={hook.stabilise}, refine={hook.refine})"
    return type(hook).__name__
