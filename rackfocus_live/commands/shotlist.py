"""Shot lists for ``batch`` and ``farm``: every shot parsed by the export's own parser and
checked (clip, depth, pull, range, output) before any work starts, with every problem in one
report that names the shot and the file."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.commands import export as export_command
from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportSettings
from rackfocus_live.farm.paths import checked_output
from rackfocus_live.farm.shots import Shot, load_shot_list
from rackfocus_live.files import same_file


class _RaisingParser(argparse.ArgumentParser):
    """argparse that raises ``InputError`` instead of exiting, so errors are reported per shot."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message)


def export_parser() -> argparse.ArgumentParser:
    """A parser with exactly the export's flags."""
    parser = _RaisingParser(prog=export_command.PROG, add_help=False)
    export_command.add_arguments(parser)
    return parser


@dataclass(frozen=True, slots=True)
class PreparedShot:
    """A shot ready to run: its parsed flags and the export they describe."""

    name: str
    argv: tuple[str, ...]
    args: argparse.Namespace
    settings: ExportSettings


def prepare(args: argparse.Namespace, *, extra_inputs: Sequence[Path] = ()) -> ExportSettings:
    """The checked export of parsed export flags: clip probed, pull loaded, depth opened,
    range and output checked (the output aliases no input).

    Raises:
        InputError: the first problem found.
    """
    from rackfocus_live.media.depthsource import open_depth
    from rackfocus_live.media.probe import probe_clip

    settings = export_command.settings_from_args(args)
    inputs: dict[str, Path | str | None] = {
        "clip": settings.clip, "depth": settings.depth, "pull": args.keys}
    inputs.update({f"shot list {p.name}": p for p in extra_inputs})
    output = checked_output(settings.output, settings.codec, inputs)
    info = probe_clip(settings.clip)
    if settings.frame_range is not None:
        start, end = settings.frame_range
        if not 0 <= start < info.frame_count or end <= start:
            raise InputError(f"--range {start}:{end} is outside the clip's frames "
                             f"0..{info.frame_count - 1}")
    if settings.depth is not None:
        open_depth(settings.depth, settings.mapping, info)
    return dataclasses.replace(settings, output=output)


def prepare_shot_list(path: str | Path) -> list[PreparedShot]:
    """Every shot of the list, checked; nothing runs unless all pass.

    Raises:
        InputError: one report with a line per refused shot (shot name, file, problem).
    """
    shot_list = Path(path)
    shots: list[Shot] = load_shot_list(shot_list)
    parser = export_parser()
    prepared: list[PreparedShot] = []
    problems: list[str] = []
    outputs: dict[Path, str] = {}
    for shot in shots:
        try:
            args = parser.parse_args(list(shot.argv))
            settings = prepare(args, extra_inputs=[shot_list])
            key = settings.output.resolve()
            if key in outputs:
                raise InputError(f"same output as shot {outputs[key]}", settings.output)
            outputs[key] = shot.name
            prepared.append(PreparedShot(shot.name, shot.argv, args, settings))
        except InputError as exc:
            problems.append(f"shot {shot.name}: {exc}")
    # A shot's output must not be another shot's input either (it would be overwritten).
    for p in prepared:
        for q in prepared:
            roles = {"clip": q.settings.clip, "depth": q.settings.depth, "pull": q.args.keys}
            role = next((r for r, f in roles.items()
                         if f is not None and same_file(p.settings.output, f)), None)
            if role is not None and q is not p:
                problems.append(f"shot {p.name}: {p.settings.output}: output is the same file "
                                f"as the {role} of shot {q.name}")
    if problems:
        raise InputError(f"{len(problems)} of {len(shots)} shots refused, nothing was run:\n  "
                         + "\n  ".join(problems), shot_list)
    return prepared
