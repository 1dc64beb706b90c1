"""Where srkit finds what it ships and where its commands write by default,
whether it runs from a source checkout or from an installed package.

- Shipped weights and sample images (``shipped``): ``$SRKIT_WEIGHTS`` /
  ``$SRKIT_SAMPLES`` when set, else the package's own copy (a wheel built by
  ``pip install .`` carries them as ``srkit/weights`` and ``srkit/samples``),
  else the checkout's ``weights/`` and ``inference/original/``.
- Everything the user owns (``runs/``, ``md_images/``, ``evaluation/``,
  ``inference/output/``, ``data/``) lives under ``project_root()``: the
  checkout when srkit runs from one, so ``python output.py`` behaves as it
  always has, else the current folder.

Standard library only: the downloaders import it before anything heavy is installed.
"""

import os
from pathlib import Path

from .errors import SRError

PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE.parent

# kind -> (environment variable, folder inside the installed package, folder in the checkout)
SHIPPED = {
    "weights": ("SRKIT_WEIGHTS", "weights", "weights"),
    "samples": ("SRKIT_SAMPLES", "samples", "inference/original"),
}


def checkout():
    """The source checkout this srkit is imported from (also under ``pip
    install -e .``), or None for an installed copy in site-packages."""
    return _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "srkit").is_dir() else None


def project_root():
    """Where default outputs and user data go: the checkout, else the current folder."""
    return checkout() or Path.cwd()


def shipped(kind, required=True):
    """The folder of shipped ``kind`` ("weights" or "samples"). Where none
    exists: SRError in one line naming the places searched and the variable
    that overrides them, or with ``required=False`` the first place (whose
    users then say "no checkpoint found in ...")."""
    env, packaged, in_checkout = SHIPPED[kind]
    if os.environ.get(env):
        return Path(os.environ[env])
    places = [PACKAGE / packaged, _CHECKOUT / in_checkout]
    for place in places:
        if place.is_dir():
            return place
    if not required:
        return places[0] if checkout() is None else places[1]
    raise SRError(f"no shipped {kind} found (looked in {' and '.join(map(str, places))}); "
                  f"set ${env} to the folder holding them")


def cache(kind):
    """The cache folder of one kind of entry, e.g. ``cache("images")``."""
    root = os.environ.get("SRKIT_CACHE_DIR")
    if root:
        return Path(root) / kind
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "srkit" / kind
