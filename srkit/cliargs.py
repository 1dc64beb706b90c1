"""Command-line parsing shared by the scripts: values range-checked where they
are parsed, so a bad number is refused in one line before anything is loaded,
built or written (a negative learning rate trained by gradient ascent, a zero
batch left a half-made run folder, a zero --max-pixels switched the bomb
check off)."""

import argparse
import math

from .errors import SRError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are SRErrors: ``run_cli`` prints them as
    one ``error: ...`` line with exit code 2, like every other bad input
    (argparse's own way prints the usage block too), and in-process callers
    get an exception they can catch instead of SystemExit."""

    def __init__(self, description=None, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(description=description, **kwargs)

    def error(self, message):
        raise SRError(message)


def number(kind=int, low=None, high=None, low_open=False, high_open=False):
    """An argparse ``type`` reading ``kind`` (int or float) within
    [low, high] (an end excluded where ``*_open``); None: unbounded."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        too_low = low is not None and (value < low or (low_open and value == low))
        too_high = high is not None and (value > high or (high_open and value == high))
        if too_low or too_high:
            bounds = _describe(low, high, low_open, high_open)
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be {bounds})")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def _describe(low, high, low_open, high_open):
    if high is None:
        return f"{'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def count(low=1):
    """Integers >= ``low`` (batch sizes, steps, tile sides, ...)."""
    return number(int, low)


SCALE = number(int, 2, 8)  # every scale the degradations and tables support
NON_NEGATIVE = number(float, 0.0)
POSITIVE = number(float, 0.0, low_open=True)
