"""The `grassroots` command.

Each area registers its own subcommands in `register_<area>` below; the handler modules are imported
lazily so that `grassroots --help` stays fast.
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grassroots", description="Grassroots (下基层) field-visit system")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Areas add their subcommands here, one call each.
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
