"""Where srkit keeps what it can rebuild (decoded training images, int8
models): one root, ``$SRKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/srkit``,
else ``~/.cache/srkit``, with one sub-folder per kind of entry."""

import os
from pathlib import Path

ENV = "SRKIT_CACHE_DIR"


def root():
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "srkit"


def sub(kind):
    """The folder of one kind of entry, e.g. ``sub("images")``."""
    return root() / kind
