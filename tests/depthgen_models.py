"""Stand-in ONNX depth models with Depth Anything V2's ONNX interface, built with ``onnx``'s
helpers (no weights to download): input ``pixel_values`` float32 [N, 3, H, W], output
``predicted_depth`` float32 [N, H, W], dynamic N, H, W unless fixed.

* :func:`make_luma_model`: depth = luma of the un-normalised input (a 1x1 convolution whose
  weights undo the ImageNet normalisation), times ``gain`` plus ``offset``. Its output tells a
  test exactly what the pipeline fed the model.
* :func:`make_conv_model`: compute like a small dense-prediction network (a strided stem, a few
  3x3 convolutions at 1/4 and 1/8 resolution, up-sampling back), for throughput measurements.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float64)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float64)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
_OPSET = 17


def _io(batch: int | str, size: tuple[int, int] | None) -> tuple[onnx.ValueInfoProto,
                                                                  onnx.ValueInfoProto]:
    h: int | str = size[0] if size else "height"
    w: int | str = size[1] if size else "width"
    x = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [batch, 3, h, w])
    y = helper.make_tensor_value_info("predicted_depth", TensorProto.FLOAT, [batch, h, w])
    return x, y


def _save(graph: onnx.GraphProto, path: str | os.PathLike[str]) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return Path(path)


def make_luma_model(path: str | os.PathLike[str], *, gain: float = 1.0, offset: float = 0.0,
                    batch: int | str = "batch", size: tuple[int, int] | None = None) -> Path:
    """depth = gain * luma(x * std + mean) + offset, luma in [0, 1] (Rec. 601 weights)."""
    weights = (gain * LUMA * STD).reshape(1, 3, 1, 1).astype(np.float32)
    bias = np.array([gain * float(LUMA @ MEAN) + offset], dtype=np.float32)
    x, y = _io(batch, size)
    nodes = [
        helper.make_node("Conv", ["pixel_values", "w", "b"], ["luma"]),
        helper.make_node("Squeeze", ["luma", "axis"], ["predicted_depth"]),
    ]
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axis")]
    return _save(helper.make_graph(nodes, "luma_depth", [x], [y], inits), path)


def make_conv_model(path: str | os.PathLike[str], *, width: int = 64, blocks: int = 4,
                    seed: int = 0) -> Path:
    """A stand-in with realistic compute: stem (stride 4) -> ``blocks`` 3x3 convs at 1/4 ->
    stride-2 conv -> ``blocks`` 3x3 convs at 1/8 -> head, up-sampled x8 (bilinear) to the input.
    Any input size works: the final Resize targets the input's own H and W."""
    rng = np.random.default_rng(seed)

    def conv(name: str, cin: int, cout: int, k: int) -> list[onnx.TensorProto]:
        w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        return [numpy_helper.from_array(w, f"{name}_w"),
                numpy_helper.from_array(np.zeros(cout, np.float32), f"{name}_b")]

    x, y = _io("batch", None)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def add_conv(name: str, src: str, cin: int, cout: int, k: int, stride: int,
                 relu: bool = True) -> str:
        inits.extend(conv(name, cin, cout, k))
        nodes.append(helper.make_node("Conv", [src, f"{name}_w", f"{name}_b"], [f"{name}_c"],
                                      kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[k // 2] * 4))
        if not relu:
            return f"{name}_c"
        nodes.append(helper.make_node("Relu", [f"{name}_c"], [f"{name}_r"]))
        return f"{name}_r"

    t = add_conv("stem", "pixel_values", 3, width, 7, 4)
    for i in range(blocks):
        t = add_conv(f"a{i}", t, width, width, 3, 1)
    t = add_conv("down", t, width, width * 2, 3, 2)
    for i in range(blocks):
        t = add_conv(f"b{i}", t, width * 2, width * 2, 3, 1)
    t = add_conv("head", t, width * 2, 1, 3, 1, relu=False)
    # Resize the [N, 1, h, w] head to the input's own H, W, then drop the channel.
    nodes += [
        helper.make_node("Shape", ["pixel_values"], ["in_shape"]),
        helper.make_node("Slice", ["in_shape", "s2", "s4"], ["hw"]),
        helper.make_node("Shape", [t], ["head_shape"]),
        helper.make_node("Slice", ["head_shape", "s0", "s1"], ["n"]),
        helper.make_node("Concat", ["n", "c1", "hw"], ["target"], axis=0),
        helper.make_node("Resize", [t, "", "", "target"], ["up"], mode="linear"),
        helper.make_node("Squeeze", ["up", "axis"], ["predicted_depth"]),
    ]
    inits += [
        numpy_helper.from_array(np.array([0], np.int64), "s0"),
        numpy_helper.from_array(np.array([1], np.int64), "s1"),
        numpy_helper.from_array(np.array([2], np.int64), "s2"),
        numpy_helper.from_array(np.array([4], np.int64), "s4"),
        numpy_helper.from_array(np.array([1], np.int64), "c1"),
        numpy_helper.from_array(np.array([1], np.int64), "axis"),
    ]
    return _save(helper.make_graph(nodes, "conv_depth", [x], [y], inits), path)
