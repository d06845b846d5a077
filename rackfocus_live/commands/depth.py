"""Make depth from the clip itself: per-frame monocular depth (Depth Anything V2 Small by
default, or any ONNX model with the same interface) written as a 16-bit disparity video (FFV1
gray16) with a JSON sidecar, ready for ``--depth-kind disparity``.

The default model is fetched once into the user cache (checksum verified); --model PATH uses a
local ONNX file. Needs the depth extra: pip install 'rackfocus-live[depth]'. Ctrl-C stops, leaves
no partial file and exits with 130.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import TYPE_CHECKING, TextIO

from rackfocus_live.depth import DEFAULT_FAR_M, DEFAULT_NEAR_M
from rackfocus_live.depthgen.deps import require_depth_extra
from rackfocus_live.depthgen.models import CATALOGUE, DEFAULT_MODEL, resolve_model
from rackfocus_live.depthgen.outputs import depth_output_paths
from rackfocus_live.depthgen.postprocess import default_postprocessor
from rackfocus_live.errors import InputError
from rackfocus_live.media.probe import probe_clip

if TYPE_CHECKING:
    from rackfocus_live.depthgen.pipeline import DepthJob

PROG = "rackfocus-live depth"
PROVIDER_CHOICES = ("auto", "cuda", "directml", "coreml", "cpu")
_LOG_INTERVAL_S = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clip", metavar="CLIP", help="video clip")
    parser.add_argument("-o", "--output", metavar="OUT.mkv", default=None,
                        help="depth video to write (default: CLIP_depth.mkv beside the clip); "
                             "the sidecar goes beside it as OUT.json")
    parser.add_argument("--model", default=None, metavar="NAME|PATH",
                        help=f"a model name ({', '.join(CATALOGUE)}; default {DEFAULT_MODEL}, "
                             "fetched once into the user cache) or a local .onnx file with input "
                             "pixel_values [N,3,H,W] and output predicted_depth [N,H,W]")
    parser.add_argument("--max-res", type=int, default=None, metavar="N",
                        help="longest side of the written depth in pixels (default: the clip's "
                             "size; depth of another size is resampled on playback)")
    parser.add_argument("--input-size", type=int, default=518, metavar="N",
                        help="model input size as on the model card (default 518; sides are "
                             "rounded to multiples of 14; larger is finer and slower)")
    parser.add_argument("--batch", type=int, default=4, metavar="N",
                        help="frames per model call (default 4)")
    parser.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto",
                        help="onnxruntime execution provider (default auto: CUDA, DirectML or "
                             "CoreML when this onnxruntime has it, else CPU)")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="CPU threads for the model (default 0: all cores)")
    parser.add_argument("--no-stabilise", action="store_true",
                        help="write each frame's depth as the model gave it (no removal of the "
                             "per-frame scale/offset drift; expect flicker)")
    parser.add_argument("--refine-edges", action="store_true",
                        help="bake the colour-guided edge refinement into the file (slow on the "
                             "CPU: seconds a frame; the preview and export refine on the GPU "
                             "anyway, see --refine-depth)")
    parser.add_argument("--near", type=float, default=DEFAULT_NEAR_M, metavar="M",
                        help=f"near-end hint written to the sidecar (default {DEFAULT_NEAR_M:g})")
    parser.add_argument("--far", type=float, default=DEFAULT_FAR_M, metavar="M",
                        help=f"far-end hint written to the sidecar (default {DEFAULT_FAR_M:g})")


def run(args: argparse.Namespace) -> int:
    require_depth_extra()
    # Imported only now: the pipeline needs the optional depth extra (onnxruntime, Pillow), and
    # the check above turns its absence into one line instead of an ImportError.
    from rackfocus_live.depthgen.pipeline import DepthJob, DepthJobConfig
    from rackfocus_live.depthgen.runtime import choose_providers

    if args.threads < 0:
        raise InputError("--threads must be >= 0")
    if not (math.isfinite(args.near) and math.isfinite(args.far) and 0 < args.near < args.far):
        raise InputError("--near and --far must be finite with 0 < near < far")
    info = probe_clip(args.clip)
    outputs = depth_output_paths(info.path, args.output)
    bar = ProgressLine(sys.stderr)
    model = resolve_model(args.model, progress=bar.download)
    config = DepthJobConfig(
        clip=info.path, outputs=outputs, model=model,
        providers=tuple(choose_providers(args.provider)), input_size=args.input_size,
        max_res=args.max_res, batch=args.batch, threads=args.threads,
        near_hint_m=args.near, far_hint_m=args.far,
    )
    hook = default_postprocessor(stabilise=not args.no_stabilise, refine=args.refine_edges)
    job = DepthJob(config, postprocess=hook, info=info).start()
    try:
        while not job.wait(0.2):
            bar.job(job)
    except KeyboardInterrupt:
        job.cancel()
        job.wait()
        bar.clear()
        raise
    bar.clear()
    if job.error is not None:
        raise job.error
    result = job.result
    assert result is not None
    w, h = result.size
    print(
        f"{PROG}: wrote {outputs.video} ({result.frames} frames, {w}x{h} 16-bit disparity, model "
        f"{model.name} [{model.licence}] at {result.input_size[1]}x{result.input_size[0]}, "
        f"{result.fps:.2f} fps on {result.providers[0]}) and {outputs.sidecar.name}",
        file=sys.stderr,
    )
    print(f"{PROG}: open it with: rackfocus-live {info.path.name} --depth {outputs.video.name} "
          f"--depth-kind disparity --near {args.near:g} --far {args.far:g}", file=sys.stderr)
    if result.clipped_fraction > 0.01:
        print(f"{PROG}: warning: {result.clipped_fraction:.1%} of depth samples fell outside the "
              "first frame's range and were clipped", file=sys.stderr)
    return 0


class ProgressLine:
    """One self-rewriting line on a terminal; a line every few seconds otherwise (logs)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._shown = False
        self._last_log = 0.0
        self._started = time.perf_counter()

    def download(self, received: int, total: int | None) -> None:
        size = f"{received / 1e6:.0f}/{total / 1e6:.0f} MB" if total else f"{received / 1e6:.0f} MB"
        self._show(f"downloading model {size}", received / total if total else None)

    def job(self, job: DepthJob) -> None:
        if job.stage != "making depth" or job.done == 0:
            self._show(f"{job.stage}...", None)
            return
        elapsed = time.perf_counter() - self._started
        fps = job.done / elapsed if elapsed > 0 else 0.0
        eta = (job.total - job.done) / fps if fps > 0 else math.inf
        self._show(f"{job.done}/{job.total} frames  {fps:.2f} fps  ETA {eta:.0f} s", job.progress)

    def clear(self) -> None:
        if self._tty and self._shown:
            self._stream.write("\r\033[K")
            self._stream.flush()
        self._shown = False

    def _show(self, text: str, fraction: float | None) -> None:
        if fraction is not None:
            filled = int(24 * min(max(fraction, 0.0), 1.0))
            text = f"[{'#' * filled}{'.' * (24 - filled)}] {text}"
        if self._tty:
            self._stream.write(f"\r\033[K{PROG}: {text}")
            self._stream.flush()
            self._shown = True
            return
        now = time.perf_counter()
        if now - self._last_log >= _LOG_INTERVAL_S:
            self._last_log = now
            print(f"{PROG}: {text}", file=self._stream)
