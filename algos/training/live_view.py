"""The live view: a run's evaluations as TensorBoard event files, to watch it while it trains.

Off by default (``python -m algos train --tensorboard``). It mirrors the rows the loop writes to
``metrics.csv`` and ``diagnostics.csv`` at each evaluation: one scalar per column, tagged
``metrics/<column>`` or ``diagnostics/<column>``, at the row's ``env_steps``, with the value the
CSV file holds (its 6 significant digits; an empty cell is left out). The CSV files stay the
record: the view changes nothing the run writes, its ``config.json`` included (a run's settings
are its identity, and a view is no setting).

A resumed run's view holds each row once: every session writes all the rows so far into a new
event file that begins with TensorBoard's purge from step 0, which hides what earlier sessions
wrote (rows a killed session wrote after its last checkpoint among them).

TensorBoard is an optional dependency (``pip install -e ".[tensorboard]"``); ``require`` says in
one line when it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from algos.errors import UserError
from algos.provenance.runs import format_value


class LiveViewError(UserError, RuntimeError):
    """The live view was asked for, and TensorBoard cannot be imported."""


def require() -> None:
    """Raise ``LiveViewError`` unless TensorBoard's event writer can be imported (checked before
    a run starts, so that a missing package stops it before anything is written)."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as err:
        raise LiveViewError(f"--tensorboard needs the tensorboard package ({err}); install it "
                            "with pip install -e \".[tensorboard]\", or train without "
                            "--tensorboard") from None


def scalars(prefix: str, row: dict) -> dict[str, float]:
    """A CSV row's cells as the view's scalars: ``prefix/column`` to the value the CSV file
    holds; ``env_steps`` (the view's step) and empty cells (NaN) left out."""
    out = {}
    for column, value in row.items():
        text = format_value(value)
        if column == "env_steps" or not text:
            continue
        try:
            number = float(text)
        except ValueError:
            continue  # a cell that is no number has no scalar
        if math.isfinite(number):
            out[f"{prefix}/{column}"] = number
    return out


class LiveView:
    """Writes a run's metric and diagnostic rows as TensorBoard scalars into ``folder``.

    Called as the loop's ``on_logs`` hook with every row so far, it writes those it has not yet
    written. Its event file is opened at the first call, which the loop makes under the run's
    lock: a view asked of a run that is finished, or that another trainer holds, writes
    nothing."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._writer = None
        self._written = {"metrics": 0, "diagnostics": 0}

    def __call__(self, metrics: Sequence[dict], diagnostics: Sequence[dict]) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.folder.mkdir(parents=True, exist_ok=True)
            # purge_step=0: the file begins with a session start at step 0, which hides every
            # earlier session's events; this session writes every row again below.
            self._writer = SummaryWriter(str(self.folder), purge_step=0)
        for prefix, rows in (("metrics", metrics), ("diagnostics", diagnostics)):
            for row in rows[self._written[prefix]:]:
                for tag, value in scalars(prefix, row).items():
                    self._writer.add_scalar(tag, value, int(row["env_steps"]))
            self._written[prefix] = len(rows)
        self._writer.flush()  # live: each evaluation is on disk when it is in the CSV files

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> LiveView:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
