"""Depth-making throughput: ``rackfocus-live depth`` frames/s on this machine, with a stand-in
model of realistic compute at the real model's input size, beside its parts, in one run.

The stand-in (``tests/depthgen_models.make_conv_model``) has Depth Anything V2's ONNX interface
and does the work of a small dense-prediction CNN (a stride-4 stem, 3x3 convolutions at 1/4 and
1/8 resolution, up-sampling back); its multiply-adds per frame are printed next to an estimate
for Depth Anything V2 Small at the same input, so its frame rate can be scaled. The real model's
speed is not measured here (no weights, no GPU): run this with ``--model PATH`` on the real ONNX
file, and with ``--provider cuda`` where a GPU is available.

Measured, alternating runs and keeping the best of each:

* model only: ``DepthModel.infer`` on batches already prepared (onnxruntime);
* preprocess only: decode + RGB + the card's bicubic resize and normalisation (reader thread);
* pipeline: ``DepthJob.run`` end to end (decode, preprocess, model, up-sampling, stabiliser,
  quantisation, FFV1 encode), whose frames/s is the figure the issue asks for.

    .venv/bin/python bench/depth.py [--size 1920x1080] [--frames 12] [--batch 4] [--runs 2]
        [--model PATH] [--provider auto] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402
from rackfocus_live.depthgen.models import ModelFile  # noqa: E402
from rackfocus_live.depthgen.outputs import depth_output_paths  # noqa: E402
from rackfocus_live.depthgen.pipeline import DepthJob, DepthJobConfig, display_rgb  # noqa: E402
from rackfocus_live.depthgen.preprocess import model_input, network_size  # noqa: E402
from rackfocus_live.depthgen.runtime import DepthModel, choose_providers  # noqa: E402
from rackfocus_live.media.probe import probe_clip  # noqa: E402
from rackfocus_live.media.reader import VideoReader  # noqa: E402
from tests import media_factory as mf  # noqa: E402
from tests.depthgen_models import make_conv_model  # noqa: E402

#: Stand-in shape: channels at 1/4 resolution and 3x3 convolutions per stage.
STAND_IN_WIDTH = 96
STAND_IN_BLOCKS = 4
#: Depth Anything V2 Small (ViT-S/14 encoder, 24.8 M parameters, DPT head): multiply-adds per
#: input token of the encoder (~ 2 x 21 M weights used once per token, plus attention over all
#: tokens) and the DPT head's cost, estimated from its layer sizes; an estimate, not measured.
VITS_PARAMS = 21.7e6
VITS_DIM = 384
VITS_DEPTH = 12


def stand_in_macs(height: int, width: int) -> float:
    """Multiply-adds of the stand-in at an input of height x width."""
    w = STAND_IN_WIDTH
    q = (height / 4) * (width / 4)
    e = q / 4
    stem = q * 3 * 49 * w
    stage1 = STAND_IN_BLOCKS * q * 9 * w * w
    down = e * 9 * w * 2 * w
    stage2 = STAND_IN_BLOCKS * e * 9 * (2 * w) ** 2
    head = e * 9 * 2 * w
    return stem + stage1 + down + stage2 + head


def real_model_macs(height: int, width: int) -> float:
    """Rough multiply-adds of Depth Anything V2 Small's encoder at height x width (the DPT head
    adds roughly a third again); for scaling the stand-in's figure, not a measurement."""
    tokens = (height // 14) * (width // 14) + 1
    dense = tokens * VITS_PARAMS
    attention = VITS_DEPTH * 2 * tokens * tokens * VITS_DIM
    return (dense + attention) * 4 / 3


def best(times: list[float]) -> float:
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--model", default=None, help="a real ONNX model instead of the stand-in")
    parser.add_argument("--provider", default="auto")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    providers = choose_providers(args.provider)

    with tempfile.TemporaryDirectory(prefix="rackfocus-bench-depth-") as tmp:
        folder = Path(tmp)
        clip = mf.make_clip(folder / "clip.mp4", frames=args.frames, size=(width, height),
                            fps=Fraction(24), gop=24, bframes=2, texture=20)
        model_path = Path(args.model) if args.model else make_conv_model(
            folder / "stand_in.onnx", width=STAND_IN_WIDTH, blocks=STAND_IN_BLOCKS)
        info = probe_clip(clip)
        net = network_size(height, width)
        model = DepthModel(model_path, providers)
        batch = np.stack([model_input([np.zeros((height, width, 3), np.uint8)], net)[0]]
                         * args.batch)
        model.infer(batch)  # warm-up: onnxruntime plans its kernels on the first run

        model_t, prep_t, pipe_t = [], [], []
        for run in range(args.runs):
            t = time.perf_counter()
            for _ in range(max(1, args.frames // args.batch)):
                model.infer(batch)
            model_t.append((time.perf_counter() - t) / (max(1, args.frames // args.batch)
                                                         * args.batch))

            t = time.perf_counter()
            reader = VideoReader(info)
            try:
                for i in range(args.frames):
                    frame = reader.read(i)
                    assert frame is not None
                    model_input([display_rgb(frame, info)], net)
            finally:
                reader.close()
            prep_t.append((time.perf_counter() - t) / args.frames)

            out = folder / f"depth_{run}.mkv"
            config = DepthJobConfig(
                clip=clip, outputs=depth_output_paths(clip, out),
                model=ModelFile(path=model_path, name=model_path.name, licence="-"),
                providers=tuple(providers), batch=args.batch)
            result = DepthJob(config, info=info).run()
            pipe_t.append(result.seconds / result.frames)

    results = {
        "machine": cpu_model(),
        "providers": model.providers,
        "clip": f"{width}x{height}, {args.frames} frames",
        "model": "stand-in conv" if args.model is None else str(args.model),
        "model_input": f"{net[1]}x{net[0]}",
        "batch": args.batch,
        "stand_in_gmacs_per_frame": round(stand_in_macs(*net) / 1e9, 1),
        "depth_anything_v2_small_gmacs_per_frame_estimate": round(real_model_macs(*net) / 1e9, 1),
        "model_only_fps": round(1 / best(model_t), 2),
        "preprocess_only_fps": round(1 / best(prep_t), 2),
        "pipeline_fps": round(1 / best(pipe_t), 2),
    }
    ratio = 1 / best(pipe_t) / (1 / best(model_t))
    results["pipeline_vs_model_only"] = round(ratio, 2)
    for key, value in results.items():
        print(f"{key:52s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
