"""What every benchmark shares: printing its JSON result and, if asked, saving it."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch


def emit(result: dict, out: Path | None) -> None:
    """Add the machine's description, print ``result`` as JSON, and write it to ``out``."""
    result = {**result, "torch": torch.__version__, "python": platform.python_version(),
              "processor": platform.processor() or platform.machine()}
    text = json.dumps(result, indent=2)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
