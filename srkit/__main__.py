"""``python -m srkit COMMAND ...``: the ``srkit`` command without installing it."""

from .cli import entry

entry()
