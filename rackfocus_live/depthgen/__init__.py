"""Depth made from the clip itself: per-frame monocular depth through onnxruntime.

Modules, lowest first:

* ``models``: the model catalogue, the user cache, download with checksum check (no onnxruntime).
* ``deps``: the optional dependencies check (one line naming ``rackfocus-live[depth]``).
* ``outputs``: where the depth video and its sidecar go (the one place paths are decided).
* ``postprocess``: the hook applied to the (rgb, disparity) sequence, and its default stabiliser.
* ``quantise``: relative disparity -> 16-bit samples with one fixed mapping per clip.
* ``preprocess``: the model card's resize and normalisation, and the output up-sampling (Pillow).
* ``runtime``: the onnxruntime session and its interface checks.
* ``writer``: FFV1 gray16 Matroska writer (partial file, rename) and the JSON sidecar.
* ``pipeline``: the job: decode -> batches -> model -> hook -> 16-bit video, on worker threads.

Only ``models``, ``deps``, ``outputs``, ``postprocess`` and ``quantise`` import without the
``depth`` extra installed.
"""
