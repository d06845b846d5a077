"""Typed reads from parsed JSON that fail with the exact field path and problem.

``JsonReader(source).number(value, "keys[3].time")`` either returns a float or raises
``InputError('keys[3].time: expected a number, got "abc"', source)``, which the CLI prints as one
line naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
from fractions import Fraction
from typing import Any, NoReturn

from rackfocus_live.errors import InputError

MISSING: Any = object()
_RATIONAL = re.compile(r"^\d{1,12}(?:/\d{1,12}|\.\d{1,9})?$")


def describe(value: object) -> str:
    """A short JSON rendering of ``value`` for error messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class JsonReader:
    """Reads fields of one parsed file; every failure names ``source``."""

    def __init__(self, source: str | os.PathLike[str] | None) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        raise InputError(f"{where}: {problem}" if where else problem, self.source)

    def obj(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, got {describe(value)}")
        return value

    def field(self, obj: dict[str, Any], name: str, where: str, default: Any = MISSING) -> Any:
        """``obj[name]``; missing is an error unless a default is given."""
        if name in obj:
            return obj[name]
        if default is MISSING:
            self.fail(f"{where}.{name}" if where else name, "missing")
        return default

    def number(
        self,
        value: object,
        where: str,
        *,
        lo: float = -math.inf,
        hi: float = math.inf,
        lo_open: bool = False,
    ) -> float:
        """A finite number within [lo, hi] (or (lo, hi] with ``lo_open``)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, f"expected a number, got {describe(value)}")
        try:
            x = float(value)
        except OverflowError:
            self.fail(where, "number out of range")
        if not math.isfinite(x):
            self.fail(where, f"expected a finite number, got {describe(value)}")
        if x < lo or (lo_open and x <= lo) or x > hi:
            low = f"> {lo:g}" if lo_open else f">= {lo:g}"
            rng = low if hi == math.inf else f"{low} and <= {hi:g}"
            self.fail(where, f"must be {rng}, got {x!r}")
        return x

    def optional_number(self, value: object, where: str, **limits: Any) -> float | None:
        return None if value is None else self.number(value, where, **limits)

    def integer(self, value: object, where: str, *, lo: int = 0, hi: int = 10**12) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 24.0 is an integer in JSON's eyes
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected an integer, got {describe(value)}")
        if not lo <= value <= hi:
            self.fail(where, f"must be between {lo} and {hi}, got {value}")
        return value

    def string(self, value: object, where: str, *, max_len: int = 4096) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {describe(value)}")
        if len(value) > max_len:
            self.fail(where, f"longer than {max_len} characters")
        return value

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {describe(value)}")
        return value

    def array(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {describe(value)}")
        return value

    def fraction(self, value: object, where: str, *, hi: int = 1000) -> Fraction:
        """A positive rational like "24000/1001", "25" or 25 (at most ``hi``)."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(where, f'expected a rational like "24000/1001", got {describe(value)}')
        text = str(value).strip()
        # A strict pattern, not Fraction()'s parser: "1e999999999" would be a huge integer.
        if not _RATIONAL.match(text):
            self.fail(where, f'expected a rational like "24000/1001", got {describe(value)}')
        try:
            r = Fraction(text)
        except ZeroDivisionError:
            self.fail(where, "zero denominator")
        if not 0 < r <= hi:
            self.fail(where, f"must be > 0 and <= {hi}, got {describe(value)}")
        return r

    def choice(self, value: object, where: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            self.fail(where, f"expected one of {', '.join(choices)}, got {describe(value)}")
        return value
