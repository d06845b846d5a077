"""Open Job Description job bundles: one job per shot, a Render step with one task per chunk and
a Join step that depends on it.

The template is plain data (``jobtemplate-2023-09``) written as JSON, which is also YAML, so
``openjd`` and ``deadline bundle submit`` read ``template.yaml`` without a YAML writer here. Every
file is a PATH job parameter (with its data flow) so that a farm's path mapping and job
attachments carry it. OpenJD only accepts a PATH default inside the template's folder, so the
paths given on the command line are written to the bundle's parameter files (Deadline reads
``parameter_values.yaml`` on submit; ``openjd run`` takes ``-p file://.../openjd_parameters.json``)
and are template defaults only where they lie inside the bundle.
Every task runs the same ``rackfocus-live farm`` command line with the shot's export flags; each
recomputes the chunk plan from the clip, the range and ``--chunk-frames``, so the tasks agree
without a plan file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.files import atomic_write

SPEC_VERSION = "jobtemplate-2023-09"
RENDER_STEP = "Render"
JOIN_STEP = "Join"
TEMPLATE_NAME = "template.yaml"
DEADLINE_VALUES_NAME = "parameter_values.yaml"
OPENJD_VALUES_NAME = "openjd_parameters.json"
WORKER_REQUIREMENTS = (
    "Workers need rackfocus-live installed (pip install rackfocus-live; its command on PATH, or "
    "set RackfocusCommand) and OpenGL 3.3 through EGL: a GPU driver with EGL (NVIDIA, Mesa), or "
    "Mesa llvmpipe for slow software rendering. No display is needed."
)


@dataclass(frozen=True, slots=True)
class FarmShot:
    """One shot's export, as the job runs it.

    Attributes:
        name: job name.
        clip, depth, keys, output: the files (depth may be a sequence pattern; keys optional).
        work_dir: where the chunks go (shared by the Render and Join steps).
        export_flags: the export's other flags, one argument per item (``--focus``, ``2``...).
        chunk_frames: frames per chunk.
        chunk_count: number of chunks (Render tasks) the plan has for this shot.
        remux: the join copies the chunks' packets (ffv1, prores) rather than encoding lossless
            chunks once (h264, hevc).
        gpu: Render tasks ask the scheduler for a worker with a GPU (the Join needs none).
    """

    name: str
    clip: Path
    depth: str
    keys: Path | None
    output: Path
    work_dir: Path
    export_flags: tuple[str, ...]
    chunk_frames: int
    chunk_count: int
    remux: bool = True
    gpu: bool = False


def _path_param(name: str, value: Path | str, flow: str, kind: str | None,
                description: str, bundle_dir: Path) -> dict[str, object]:
    param: dict[str, object] = {"name": name, "type": "PATH", "dataFlow": flow,
                                "description": description}
    # OpenJD joins a PATH default to the template's folder and refuses one outside it (absolute
    # or walking up): other paths are given by the parameter files (see ``parameter_values``).
    relative = os.path.relpath(os.path.abspath(value), os.path.abspath(bundle_dir))
    if not relative.startswith(os.pardir) and not os.path.isabs(relative):
        param["default"] = relative
    if kind is not None:
        param["objectType"] = kind
    return param


def parameter_values(shot: FarmShot) -> dict[str, str]:
    """The job parameter values of ``shot``: its absolute paths."""
    values = {"ClipFile": str(shot.clip), "DepthFile": shot.depth,
              "OutputFile": str(shot.output), "WorkDir": str(shot.work_dir)}
    if shot.keys is not None:
        values["KeysFile"] = str(shot.keys)
    return values


def job_template(shot: FarmShot, bundle_dir: Path) -> dict[str, object]:
    """The OpenJD job template of ``shot`` (plain data) for a bundle in ``bundle_dir``."""
    depth_is_file = Path(shot.depth).is_file()
    params: list[dict[str, object]] = [
        _path_param("ClipFile", shot.clip, "IN", "FILE", "The video clip.", bundle_dir),
        _path_param("DepthFile", shot.depth, "IN", "FILE" if depth_is_file else None,
                    "Depth video, still, or image sequence pattern (depth_%05d.png).", bundle_dir),
        _path_param("OutputFile", shot.output, "OUT", "FILE", "The joined export.", bundle_dir),
        _path_param("WorkDir", shot.work_dir, "INOUT", "DIRECTORY",
                    "Shared folder for the chunks (Render tasks write, Join reads).", bundle_dir),
        {"name": "RackfocusCommand", "type": "STRING", "default": "rackfocus-live",
         "description": "The rackfocus-live executable on the workers."},
    ]
    command: list[str] = ["farm", "{{Param.ClipFile}}", "--depth", "{{Param.DepthFile}}",
                          "-o", "{{Param.OutputFile}}", "--work-dir", "{{Param.WorkDir}}",
                          "--chunk-frames", str(shot.chunk_frames)]
    if shot.keys is not None:
        params.insert(2, _path_param("KeysFile", shot.keys, "IN", "FILE",
                                     "The focus pull (keyframe file).", bundle_dir))
        command += ["--keys", "{{Param.KeysFile}}"]
    command += list(shot.export_flags)
    joined = ("joined without re-encoding" if shot.remux else
              "rendered losslessly (FFV1) and encoded once by the join")
    render: dict[str, object] = {
        "name": RENDER_STEP,
        "description": "Render one chunk of frames (intra-only: FFV1 or ProRes).",
        "parameterSpace": {"taskParameterDefinitions": [
            {"name": "Chunk", "type": "INT", "range": f"0-{shot.chunk_count - 1}"},
        ]},
        "script": {"actions": {"onRun": {
            "command": "{{Param.RackfocusCommand}}",
            "args": [*command, "--render-chunk", "{{Task.Param.Chunk}}"],
        }}},
    }
    if shot.gpu:
        # OpenJD's standard capability: schedulers (Deadline Cloud) then pick GPU workers.
        render["hostRequirements"] = {"amounts": [{"name": "amount.worker.gpu", "min": 1}]}
    return {
        "specificationVersion": SPEC_VERSION,
        "name": shot.name,
        "description": (f"rackfocus-live export of {shot.clip.name} to {shot.output.name} in "
                        f"{shot.chunk_count} chunks of {shot.chunk_frames} frames, {joined}. "
                        f"{WORKER_REQUIREMENTS}"),
        "parameterDefinitions": params,
        "steps": [
            render,
            {
                "name": JOIN_STEP,
                "description": "Join the chunks into the output; copy the clip's audio.",
                "dependencies": [{"dependsOn": RENDER_STEP}],
                "script": {"actions": {"onRun": {
                    "command": "{{Param.RackfocusCommand}}",
                    "args": [*command, "--join"],
                }}},
            },
        ],
    }


def write_bundle(directory: Path, shot: FarmShot) -> Path:
    """Write the bundle into ``directory`` (created), each file atomically; returns the template.

    Files: ``template.yaml``; ``parameter_values.yaml``, the shot's paths in the form
    ``deadline bundle submit`` reads from a bundle; ``openjd_parameters.json``, the same values
    for ``openjd run TEMPLATE -p file://...``.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the bundle folder ({exc.strerror})", directory) from None
    values = parameter_values(shot)
    deadline = {"parameterValues": [{"name": k, "value": v} for k, v in values.items()]}
    for name, doc in ((TEMPLATE_NAME, job_template(shot, directory)),
                      (DEADLINE_VALUES_NAME, deadline), (OPENJD_VALUES_NAME, values)):
        atomic_write(directory / name, (json.dumps(doc, indent=2) + "\n").encode(), backup=True)
    return directory / TEMPLATE_NAME


def bundle_dirs(root: Path, names: Sequence[str]) -> list[Path]:
    """One bundle folder per shot under ``root``: ``root/NAME``."""
    return [root / name for name in names]
