"""Typed values: every number and path read from text (a command line option, ``--set``,
Snakemake's ``--config``) or from a config goes through these, so the CLI and the workflow's
start refuse the same things in the same words.

- An integer is exact: ``12345678901234567`` stays itself (never rounded through a float);
  ``1e5`` and ``100_000`` are accepted because they are exact; ``1.5`` is refused.
- A float is finite: NaN passes every range check (``nan < 0`` and ``nan > 1`` are both false)
  and then poisons training or a table, so it is refused where it is read.
- A path is not empty: ``--out ''`` would mean the current folder.
"""

from __future__ import annotations

import decimal
import math
import os
from pathlib import Path
from typing import Any

import yaml

from algos.errors import UserError


class SizeError(UserError, ValueError):
    """A size (a replay's capacity, a dataset's transitions) that this machine cannot hold."""


def exact_int(text: str) -> int:
    """The integer ``text`` writes, exactly; ``ValueError`` if it writes another number."""
    try:
        number = decimal.Decimal(text.strip().replace("_", ""))
    except decimal.InvalidOperation:
        raise ValueError(f"expected an integer, got {text!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"expected an integer, got {text!r}")
    return int(number)


def finite_float(text: str) -> float:
    """The finite number ``text`` writes; ``ValueError`` for NaN, infinities and non-numbers."""
    try:
        number = float(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {text!r}")
    return number


def nonempty_path(text: str) -> Path:
    """``Path(text)``; ``ValueError`` for the empty string (``Path('')`` is the current
    folder, never what an empty option meant)."""
    if not text.strip():
        raise ValueError("expected a path, got an empty string")
    return Path(text)


def non_finite(value: Any, where: str = "") -> list[str]:
    """The dotted keys of ``value`` (a config: dicts, lists, scalars) that hold NaN or an
    infinity; YAML writes them ``.nan`` and ``.inf``, and JSON schema's ``number`` takes them."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where or "the value"]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [bad for key, item in items
            for bad in non_finite(item, f"{where}.{key}" if where else str(key))]


def retype_override(value: Any) -> Any:
    """A ``--config`` value as YAML would read it. Snakemake reads a list or mapping given on
    its command line with YAML's base loader, which keeps every scalar inside as a string
    (``seeds=[0,1]`` gives ``['0', '1']``); its schema check then blames the value for the
    parser's reading."""
    if isinstance(value, str):
        read = yaml.safe_load(value) if value.strip() else value
        return read if isinstance(read, int | float | bool) else value
    if isinstance(value, dict):
        return {key: retype_override(item) for key, item in value.items()}
    if isinstance(value, list):
        return [retype_override(item) for item in value]
    return value


def physical_memory() -> int:
    """Bytes of this machine's memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def require_memory(nbytes: int, what: str) -> None:
    """``SizeError`` before allocating ``nbytes`` for ``what`` where the machine has fewer
    (numpy's zeroed arrays are allocated lazily, so a size that cannot fit would otherwise end
    later in an out-of-memory kill or a traceback)."""
    have = physical_memory()
    if nbytes > have:
        raise SizeError(f"{what} needs {nbytes / 2**30:,.1f} GiB; this machine has "
                        f"{have / 2**30:,.1f} GiB")
