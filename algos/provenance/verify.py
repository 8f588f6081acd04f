"""Checks of what the suite reads back that its writers do not seal with a checksum of their own
(torch-free, for the aggregate and the workflow): an expert's description, an aggregate
folder's tables.

Run files, checkpoints, datasets and policies are sealed where they are written (``runs``,
``loop``, ``datasets``, ``experts``); each check here answers with the problem in words, or
None, and the caller raises its own one-line error naming the file.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

ENV_KEYS = ("game", "action_set", "sticky_action_prob", "difficulty_ramping")
"""What an expert's ``env`` must hold to rebuild its environment."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def expert_info_problem(info: Any) -> str | None:
    """What is wrong with an ``expert.json``'s contents for the suite's readers (the dataset
    command and the aggregate), or None."""
    if not isinstance(info, dict):
        return "not an expert description (not a JSON object)"
    env = info.get("env")
    if not isinstance(env, dict):
        return "not an expert description (no env)"
    missing = [key for key in ENV_KEYS if key not in env]
    if missing:
        return f"not an expert description (its env has no {', '.join(missing)})"
    if info.get("kind") == "dqn" and not (isinstance(env.get("state_shape"), list)
                                          and isinstance(env.get("action_ids"), list)):
        return "not an expert description (its env has no state_shape or action_ids)"
    for part in ("eval", "random"):
        scores = info.get(part)
        if not isinstance(scores, dict) or not all(
                _number(scores.get(key)) for key in ("return_mean", "return_std", "episodes")):
            return (f"not an expert description ({part} needs numbers return_mean, return_std "
                    "and episodes)")
    return None


def csv_problem(path: Path, columns: tuple[str, ...] = ()) -> str | None:
    """What is wrong with a CSV file the suite wrote (always whole lines, one header), or None:
    missing, empty, cut (its last line unended, or a row of another width), or without
    ``columns``."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return "missing"
    except (OSError, UnicodeDecodeError) as err:
        return f"unreadable ({err})"
    if not text:
        return "empty"
    if not text.endswith("\n"):
        return "cut (its last line is unended)"
    rows = list(csv.reader(text.splitlines()))
    header = rows[0]
    if any(len(row) != len(header) for row in rows[1:]):
        return "cut or changed (a row of another width than its header)"
    absent = [c for c in columns if c not in header]
    if absent:
        return f"not the table expected (no column {', '.join(absent)})"
    return None
