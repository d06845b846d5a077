"""``rackfocus-live`` entry point: open (default, the preview window), render, export, keys, depth.

Every user-facing failure is an ``InputError`` printed as one line, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from rackfocus_live.errors import InputError

#: Subcommand name -> module with ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, str] = {
    "render": "rackfocus_live.commands.render",
    "keys": "rackfocus_live.commands.keys",
    "export": "rackfocus_live.commands.export",
    "farm": "rackfocus_live.commands.farm",
    "batch": "rackfocus_live.commands.batch",
    "depth": "rackfocus_live.commands.depth",
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
    args = parser.parse_args(join_negative_values(parser, rest))
    module = importlib.import_module(COMMANDS.get(command, DEFAULT_COMMAND_MODULE))
    try:
        return int(module.run(args) or 0)
    except InputError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``| head -1``): it got what it wanted; stop
        # quietly. Python would complain again when it flushes stdout at exit: point stdout at
        # /dev/null.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MemoryError:
        print(f"{parser.prog}: error: out of memory", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: one line for the user, the traceback on request
        if os.environ.get("RACKFOCUS_DEBUG"):
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"{parser.prog}: internal error: {type(exc).__name__}: {text} (please report it; "
              "RACKFOCUS_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


def join_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--range -3:5`` as ``--range=-3:5``: argparse takes a value that starts with '-' and is
    not a plain number for a flag and fails with "expected one argument"; joined, the command
    can say what is wrong with the value itself."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        # argparse keeps no public map from option string to action.
        action = parser._option_string_actions.get(token)
        takes_value = action is not None and action.nargs is None and action.const is None
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if takes_value and len(nxt) > 1 and nxt[0] == "-" and (nxt[1].isdigit() or nxt[1] == "."):
            out.append(f"{token}={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
