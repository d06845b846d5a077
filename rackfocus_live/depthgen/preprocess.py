"""The model card's preprocessing and postprocessing, with Pillow (needs the ``depth`` extra).

Depth Anything V2's card (the ``transformers`` DPT image processor it names) specifies: resize to
518 keeping the aspect ratio, scaling as little as possible (the side whose scale factor is
nearer 1 sets the scale; for footage larger than 518 px that is the short side, which becomes
518), each side rounded to the nearest multiple of 14 (the ViT patch size), bicubic on the 8-bit
image; then 1/255 and ImageNet mean/std normalisation, channels first. The model's
``predicted_depth`` is up-sampled to the frame size, bicubic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

#: The card's input size and the patch size sides must be multiples of.
CARD_SIZE = 518
PATCH = 14
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _to_multiple(value: float, multiple: int) -> int:
    # As the card's processor: nearest multiple, never zero.
    x = round(value / multiple) * multiple
    return x if x > 0 else math.ceil(value / multiple) * multiple or multiple


def network_size(height: int, width: int, target: int = CARD_SIZE,
                 multiple: int = PATCH) -> tuple[int, int]:
    """(height, width) of the model input for a ``height`` x ``width`` frame (see module doc)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    scale_h, scale_w = target / height, target / width
    # Scale as little as possible: keep the factor nearer 1 for both sides.
    scale = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h
    return _to_multiple(height * scale, multiple), _to_multiple(width * scale, multiple)


def model_input(frames: Sequence[npt.NDArray[np.uint8]],
                size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """``pixel_values``: float32 [N, 3, H, W] from N HxWx3 uint8 RGB frames, ``size`` = (H, W)."""
    height, width = size
    batch = np.empty((len(frames), 3, height, width), dtype=np.float32)
    for i, rgb in enumerate(frames):
        resized = np.asarray(
            Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC),
            dtype=np.float32,
        )
        normalised = (resized * np.float32(1.0 / 255.0) - IMAGENET_MEAN) / IMAGENET_STD
        batch[i] = normalised.transpose(2, 0, 1)
    return batch


def upsample_depth(
    depth: npt.NDArray[np.floating], size: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """One model output (h x w) to ``size`` = (H, W), bicubic, float32."""
    height, width = size
    image = Image.fromarray(np.ascontiguousarray(depth, dtype=np.float32))
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32)


def resize_rgb(rgb: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """An RGB frame to ``size`` = (H, W), bicubic (for the post-processing hook's colour guide
    when the depth is written smaller than the clip)."""
    height, width = size
    if rgb.shape[:2] == (height, width):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC))
