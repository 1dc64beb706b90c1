"""One exception type for problems the user can fix, and the CLI wrapper that
turns it into a one-line message and a non-zero exit code (no traceback)."""

import sys


class SRError(Exception):
    """A user-facing error: bad path, bad image, foreign checkpoint, ...

    The message names the file (when there is one) and the problem in one line.
    """


def run_cli(main, argv=None):
    """Run ``main(argv)`` and exit: 0 on success, 2 on SRError, 130 on Ctrl-C."""
    try:
        code = main(argv)
    except SRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
