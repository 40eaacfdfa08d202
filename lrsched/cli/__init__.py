"""The ``lrsched`` command line.

Each subcommand lives in a module of this package exposing ``register(subparsers)``,
which adds its parser and sets ``func`` (taking the parsed namespace, returning an exit
code). Only the module of the command given is imported (so ``lrsched preview`` loads
no laws and ``lrsched fit-curve`` no torch); ``lrsched --help`` loads them all. Before any
work a command checks its output paths with ``lrsched.files.check_outputs``.

Exit status: 0 on success; 1 when the work itself fails on usable input (a fit that does
not converge); 2 on unusable input or arguments (``InputError``, ``OSError``, argparse),
with one line on stderr saying what is wrong and how to mend it. Any other exception is
a bug in lrsched and shows its traceback. Output cut short by a closed pipe (``| head``)
ends quietly with status 141, and Ctrl-C with 130, as a Unix tool killed by SIGPIPE or
SIGINT.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from importlib import import_module

from lrsched import __version__
from lrsched.errors import InputError

# command -> the module of this package that registers it
_COMMANDS = {"preview": "preview", "fit-curve": "fit_curve", "predict": "fit_curve",
             "refine": "refine", "harness": "harness", "optimize": "optimize",
             "plan-anneal": "plan_anneal", "plan-runs": "plan_runs"}
BROKEN_PIPE, INTERRUPTED = 128 + 13, 128 + 2  # statuses of a death by SIGPIPE, SIGINT


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the command named in ``argv`` registered (every command if none
    is named)."""
    parser = _Parser(prog="lrsched", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"lrsched {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    named = next((a for a in argv or () if not a.startswith("-")), None)
    modules = [_COMMANDS[named]] if named in _COMMANDS else dict.fromkeys(_COMMANDS.values())
    for module in modules:
        import_module(f"lrsched.cli.{module}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(argv).parse_args(argv)  # SystemExit on --help, a bad argument
        try:
            code = args.func(args)
        except (InputError, OSError) as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            print(f"lrsched {args.command}: error: {one_line(exc)}", file=sys.stderr)
            return 2
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        # Point stdout at /dev/null so that the interpreter's last flush is quiet too.
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), sys.stdout.fileno())
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("lrsched: interrupted", file=sys.stderr)
        return INTERRUPTED


def one_line(exc: Exception) -> str:
    """The message of ``exc`` as one line; an OSError as 'PATH: what is wrong'."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        if exc.errno == errno.EISDIR:
            return f"{where}is a folder, not a file; give the path of a file"
        if exc.errno == errno.ENOSPC:
            return f"{where}no space left on the disk; free some space and run again"
        return f"{where}{exc.strerror}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
