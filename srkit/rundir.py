"""Run folders: a fresh run never writes into a folder that holds another
run (it silently replaced that run's best.h5 and last.h5 and appended to its
log.csv); ``--force`` moves the old run aside, so nothing is ever deleted."""

import os
from datetime import datetime
from pathlib import Path

from .errors import SRError

RUN_FILES = ("last.h5", "best.h5", "log.csv", "config.json")  # what makes a folder a run's


def held_run(run_dir):
    """The run files already in ``run_dir`` (empty when there is no run)."""
    return [name for name in RUN_FILES if (Path(run_dir) / name).exists()]


def check_free(run_dir, force=False):
    """SRError when ``run_dir`` holds a run and ``force`` is off."""
    held = held_run(run_dir)
    if held and not force:
        raise SRError(f"{run_dir}: already holds a training run ({', '.join(held)}); continue it with --resume "
                      f"{run_dir}, or pass --force to move it aside and start afresh")


def move_aside(run_dir, log):
    """Rename a run folder to ``<name>.replaced-<time>`` beside it (a fresh
    name, never over another); returns the new path."""
    run_dir = Path(run_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        dest = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}" + (f"-{n}" if n > 1 else ""))
        if dest.exists():  # os.rename would replace an empty folder there
            continue
        try:
            os.rename(run_dir, dest)
        except OSError as exc:
            raise SRError(f"{run_dir}: cannot move the old run aside ({exc.strerror or exc})") from None
        log(f"{run_dir}: held a run; moved it aside to {dest}")
        return dest
    raise SRError(f"{run_dir}: cannot find a free name to move the old run aside to")
