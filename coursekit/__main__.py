"""``python -m coursekit COMMAND [--course DIR] [options]``: the instructor commands.

``release`` (nbgrader generate_assignment), ``autograde`` (the sandboxed, parallel batch),
``feedback`` (HTML without hidden tests), ``grades`` (the CSV export, and the Canvas and Moodle
imports when there is an LMS roster), ``collect`` (an LMS download) and ``similarity`` (a report
for the instructor); ``python -m coursekit COMMAND --help`` lists each one's options.
"""

from __future__ import annotations

import sys

from .commands import COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        lines = "\n".join(f"  {name:10} {fn.__doc__.strip().splitlines()[0]}"
                          for name, fn in COMMANDS.items())
        why = f"invalid choice: {argv[0]!r} (choose from {', '.join(COMMANDS)})\n" if argv else ""
        print(f"{why}usage: python -m coursekit COMMAND [--course DIR] [options]\n{lines}",
              file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
