"""``python -m coursekit release|autograde|feedback|grades [--course DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .assignments import COURSE
from .commands import COMMANDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursekit",
        description="The instructor commands: nbgrader over every assignment of the course.",
    )
    parser.add_argument("command", choices=sorted(COMMANDS),
                        help="; ".join(f"{n}: {f.__doc__.splitlines()[0]}"
                                       for n, f in sorted(COMMANDS.items())))
    parser.add_argument("--course", type=Path, default=COURSE,
                        help=f"the nbgrader course folder (default: {COURSE})")
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args.course.resolve())


if __name__ == "__main__":
    raise SystemExit(main())
