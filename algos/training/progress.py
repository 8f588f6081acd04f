"""A long job's progress: a bar on a terminal, a line every so often in a log file."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class Progress:
    """A run's progress: a bar on a terminal; elsewhere (a log file, a SLURM job) one line every
    ``every`` seconds with the steps, the speed, the time left and the last evaluation."""

    def __init__(self, description: str, total: int, initial: int, every: float):
        self.description, self.total, self.every = description, total, every
        self.bar = tqdm(total=total, initial=initial, desc=description, unit="step",
                        dynamic_ncols=True, smoothing=0.05) if sys.stderr.isatty() else None
        self.start, self.start_step = time.monotonic(), initial
        self.last_line, self.last_eval = self.start, None

    def advance(self, step: int) -> None:
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            return
        now = time.monotonic()
        if now - self.last_line >= self.every or step == self.total:
            self.last_line = now
            speed = (step - self.start_step) / max(now - self.start, 1e-9)
            left = (self.total - step) / speed if speed > 0 else float("inf")
            evaluation = (f", last evaluation {self.last_eval[1]:.2f} at step {self.last_eval[0]}"
                          if self.last_eval else "")
            print(f"{self.description}: step {step}/{self.total} ({step / self.total:.0%}), "
                  f"{speed:.0f} steps/s, {_duration(left)} left{evaluation}", file=sys.stderr,
                  flush=True)

    def evaluated(self, step: int, mean_return: float) -> None:
        self.last_eval = (step, mean_return)
        if self.bar is not None:
            self.bar.set_postfix(eval_return=f"{mean_return:.2f}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown time"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
