"""Numbered files: the frames a pattern such as ``plate.%04d.exr``, ``plate.####.exr`` or
``depth_%05d.png`` names, found in its folder, in frame order, checked for gaps.

Plates and depth sequences are found the same way (``media.sequence``, ``media.depthsource``).
Pure Python.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.errors import InputError

PathLike = str | os.PathLike[str]

#: A frame-number field: printf style (``%d``, ``%04d``: at least 4 digits) or hashes (``####``:
#: exactly that many digits).
FIELD_RE = re.compile(r"%(0?)(\d*)d|#+")


@dataclass(frozen=True)
class ImageSequence:
    """The files of a numbered sequence, in frame order, without gaps."""

    pattern: Path
    files: tuple[Path, ...]
    first: int

    def number_of(self, index: int) -> int:
        return self.first + index


def printf_pattern(text: PathLike) -> str:
    """The pattern with a ``####`` field written as ``%04d`` (one digit per hash)."""
    p = Path(os.fspath(text))
    name = re.sub(r"#+", lambda m: f"%0{len(m.group(0))}d", p.name, count=1)
    return os.fspath(p.with_name(name))


def find_sequence(pattern: PathLike, what: str = "image sequence") -> ImageSequence:
    """The files a pattern names (``%04d``: at least 4 digits; ``####``: exactly 4; ``%d``: any).

    Raises:
        InputError: no folder, no file, more than one field, or gaps (all listed in one line).
    """
    text = os.fspath(pattern)
    p = Path(text)
    if p.is_file():  # one image: a sequence of one frame
        return ImageSequence(p, (p,), 0)
    folder = p.parent if str(p.parent) else Path(".")
    fields = list(FIELD_RE.finditer(p.name))
    if len(fields) != 1:
        raise InputError(f"a {what} pattern has exactly one frame-number field "
                         "(%04d or ####)", text)
    m = fields[0]
    head, tail = p.name[: m.start()], p.name[m.end():]
    if m.group(0).startswith("#"):
        digits = rf"\d{{{len(m.group(0))}}}"
    elif m.group(2):
        digits = rf"\d{{{int(m.group(2))},}}" if m.group(1) else r"\d+"
    else:
        digits = r"\d+"
    if not folder.is_dir():
        raise InputError(f"folder of the {what} not found", folder)
    regex = re.compile(rf"{re.escape(head)}(-?{digits}){re.escape(tail)}")
    numbered: dict[int, Path] = {}
    for entry in folder.iterdir():
        hit = regex.fullmatch(entry.name)
        if hit and entry.is_file():
            numbered.setdefault(int(hit.group(1)), entry)
    if not numbered:
        raise InputError(f"no files match the {what} pattern", text)
    numbers = sorted(numbered)
    first, last = numbers[0], numbers[-1]
    if len(numbers) != last - first + 1:
        gaps = sorted(set(range(first, last + 1)) - set(numbers))
        # The first missing file by name: what the user looks for in the folder.
        example = Path(printf_pattern(p)).name % gaps[0]
        raise InputError(f"{what} {first}-{last} has gaps: missing frame "
                         f"{', '.join(_ranges(gaps))} (no {example})", text)
    return ImageSequence(p, tuple(numbered[n] for n in numbers), first)


def _ranges(numbers: list[int]) -> list[str]:
    """[3, 4, 5, 9] -> ['3-5', '9'] (at most 8 ranges named, then a count)."""
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return out if len(out) <= 8 else [*out[:8], f"and {len(out) - 8} more"]


