"""Ctrl-C and SIGTERM during training: the first asks the run to stop at the
end of its step (it then saves and exits 128 + the signal's number); a second
stops it at once, except while a checkpoint is being written, where it waits
until the file is renamed into place. The handlers cover the whole run, its
final saves included: restored before the last save, a SIGTERM there killed
the process with a half-written temporary file and no last.h5."""

import contextlib
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """The signal handlers of one run (a context manager installs them and
    restores the previous ones): ``signum`` is the first signal received or
    None; ``protected()`` defers a second one until its block has ended."""

    def __init__(self, log=lambda msg: None):
        self.signum, self._log = None, log
        self._depth, self._pending, self._old = 0, False, {}

    def __enter__(self):
        self._old = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame):
        if self.signum is None:
            self.signum = signum
            self._log(f"\n{signal.Signals(signum).name}: saving a checkpoint at the end of this step ...")
        elif self._depth:
            self._pending = True
            self._log(f"\n{signal.Signals(signum).name}: stopping once the checkpoint being written is complete")
        else:
            raise KeyboardInterrupt  # a second request: stop at once

    @contextlib.contextmanager
    def protected(self):
        """A block no signal interrupts (a checkpoint write and its rename);
        a second stop request received inside it takes effect at its end."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._pending:
                self._pending = False
                raise KeyboardInterrupt
