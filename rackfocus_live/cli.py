"""``rackfocus-live`` entry point: open (default, the preview window), render, export, keys.

Every user-facing failure is an ``InputError`` printed as one line, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rackfocus_live.errors import InputError

#: Subcommand name -> module with ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, str] = {
    "render": "rackfocus_live.commands.render",
    "keys": "rackfocus_live.commands.keys",
    "export": "rackfocus_live.commands.export",
    "track": "rackfocus_live.commands.track",
}
DEFAULT_COMMAND = "open"
DEFAULT_COMMAND_MODULE = "rackfocus_live.commands.open"

PROG = "rackfocus-live"


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and one line on error (argparse already uses 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(
        COMMANDS.get(command, DEFAULT_COMMAND_MODULE)
    )
    prog = PROG if command == DEFAULT_COMMAND else f"{PROG} {command}"
    parser = _Parser(prog=prog, description=module.__doc__)
    module.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in COMMANDS:
        command, rest = args_list[0], args_list[1:]
    else:
        command, rest = DEFAULT_COMMAND, args_list
        if rest[:1] in (["-h"], ["--help"]):
            print(f"subcommands: {PROG} {{{','.join(COMMANDS)}}} --help")
    parser = build_parser(command)
    args = parser.parse_args(rest)
    module = importlib.import_module(COMMANDS.get(command, DEFAULT_COMMAND_MODULE))
    try:
        return int(module.run(args) or 0)
    except InputError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
