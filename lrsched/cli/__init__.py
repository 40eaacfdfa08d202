"""The ``lrsched`` command line.

Each subcommand lives in a module of this package exposing ``register(subparsers)``,
which adds its parser and sets ``func`` (taking the parsed namespace, returning an exit
code). Unusable input raises ValueError or OSError; ``main`` turns it into one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

_COMMANDS = ["preview", "fit_curve", "refine", "harness", "optimize", "plan_anneal"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lrsched", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _COMMANDS:
        import_module(f"lrsched.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"lrsched {args.command}: error: {message}", file=sys.stderr)
        return 2

