"""One exception type for problems the user can fix, and the CLI wrapper that
turns it into a one-line message and a non-zero exit code (no traceback)."""

import sys


class SRError(Exception):
    """A user-facing error: bad path, bad image, foreign checkpoint, ...

    The message names the file (when there is one) and the problem in one line.
    """


def run_cli(main, argv=None):
    """Run ``main(argv)`` and exit: 0 on success, 2 on SRError (or an
    uncaught OSError, printed the same way), 130 on Ctrl-C."""
    try:
        code = main(argv)
    except SRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as exc:  # the last net: an I/O failure no code above turned into an SRError
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
