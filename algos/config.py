"""Config dataclasses: field documentation and ``--set key=value`` overrides.

Each algorithm's config is a dataclass whose fields carry a docstring right below them (the
CleanRL/tyro convention). ``field_docs`` reads those docstrings from the source, so ``--help`` and
error messages show the same text a reader sees in the code.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import textwrap
import typing
from pathlib import Path
from typing import Any

import yaml

from algos.errors import UserError
from algos.values import exact_int, finite_float

WORKFLOW_SCHEMA = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / \
    "config.schema.yaml"


class ConfigError(UserError, ValueError):
    """A bad ``--set`` key or value."""


@functools.cache
def workflow_default(*keys: str) -> Any:
    """The default that the workflow's config schema gives the setting at ``keys`` (e.g.
    ``"experts", "eval_episodes"``). A setting that both the workflow and a command line option
    take is defaulted there alone: the option's default is read from it."""
    node = yaml.safe_load(WORKFLOW_SCHEMA.read_text())
    for key in keys:
        node = node["properties"][key]
    return node["default"]


def field_docs(cls: type) -> dict[str, str]:
    """Docstrings written under each field of a dataclass and its dataclass bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body
        for node, after in itertools.pairwise(body):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def describe_fields(cls: type, indent: str = "  ", width: int = 96,
                    skip: type | None = None) -> str:
    """One block per field: ``name (type, default): doc``, for ``--help``; fields of the dataclass
    ``skip`` (a base of ``cls``) are left out."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    skipped = {f.name for f in dataclasses.fields(skip)} if skip is not None else set()
    lines = []
    for f in dataclasses.fields(cls):
        if f.name in skipped:
            continue
        type_name = getattr(hints[f.name], "__name__", str(hints[f.name]))
        text = f"{f.name} ({type_name}, default {f.default!r}): {docs.get(f.name, '')}"
        lines.append(textwrap.fill(text, width=width, initial_indent=indent,
                                   subsequent_indent=indent + "    "))
    return "\n".join(lines)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(text: str, kind: type) -> Any:
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("expected true or false")
    if kind is int:
        return exact_int(text)  # 1e5 and 100_000 too, never rounded through a float
    if kind is float:
        return finite_float(text)  # NaN passes every range check and poisons training
    if kind is str:
        return text
    raise ValueError(f"fields of type {kind} cannot be set from the command line")


def apply_overrides(config: Any, assignments: list[str]) -> Any:
    """Return a copy of ``config`` with ``key=value`` assignments applied, checked and typed."""
    cls = type(config)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"--set expects key=value, got {assignment!r}")
        if key not in names:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(names)}")
        try:
            changes[key] = _parse(text.strip(), hints[key])
        except ValueError as err:
            raise ConfigError(
                f"bad value {text!r} for {key} ({hints[key].__name__}): {err}; "
                f"valid keys: {', '.join(names)}"
            ) from None
    new = dataclasses.replace(config, **changes)
    validate = getattr(new, "validate", None)
    if validate is not None:
        validate()
    return new
