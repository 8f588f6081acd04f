"""``Tally``: the sums behind an agent's diagnostics between two evaluations.

Every agent reports averages over the interval since its last report (mean |TD|, the share of
samples with an expert match, mean Φ, ...). A ``Tally`` holds the named sums, gives their ratios
(NaN where the denominator is zero: nothing happened in the interval), restarts when the
interval ends, and travels in the checkpoint, so that a resumed run reports what an uninterrupted
one does.
"""

from __future__ import annotations


class Tally:
    """Named sums since the last ``restart``."""

    def __init__(self, *names: str):
        self.sums: dict[str, float] = dict.fromkeys(names, 0.0)

    def add(self, **values: float) -> None:
        """Add to the named sums."""
        for name, value in values.items():
            self.sums[name] += float(value)

    def __getitem__(self, name: str) -> float:
        return self.sums[name]

    def ratio(self, numerator: str, denominator: str) -> float:
        """``sums[numerator] / sums[denominator]``, NaN if the denominator is zero."""
        total = self.sums[denominator]
        return self.sums[numerator] / total if total else float("nan")

    def restart(self) -> None:
        """Start a new interval: every sum back to zero."""
        self.sums = dict.fromkeys(self.sums, 0.0)

    def state_dict(self) -> dict[str, float]:
        return dict(self.sums)

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.sums.update(state)
