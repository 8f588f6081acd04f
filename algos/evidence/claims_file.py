"""The claims file (config/claims.yaml): read, checked against its schema and against the
experiments it names, so that a claim the config cannot test fails at start in one line.

Each entry is one claim of the paper as data (the measure, the test, α, the smallest effect of
interest, the decision rule, the family); ``algos.evidence.claims`` turns entries and the
committed runs into verdicts and names no algorithm or game itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algos.errors import UserError
from algos.evidence.experiments import Experiment

ROOT = Path(__file__).resolve().parents[2]
CLAIMS_FILE = ROOT / "config" / "claims.yaml"
SCHEMA = ROOT / "workflow" / "schemas" / "claims.schema.yaml"


class ClaimsFileError(UserError, ValueError):
    """The claims file is malformed, or names what its experiment does not have."""


@dataclass(frozen=True)
class ClaimSpec:
    """One entry of the claims file (the fields: workflow/schemas/claims.schema.yaml)."""

    id: str
    claim: str
    paper: str
    experiment: str
    method: str
    against: str
    measure: dict
    effect: str
    test: str
    alpha: float
    smallest_effect: float
    decision: str
    family: str
    seeds: tuple[int, ...]
    budget: Any
    envs: tuple[str, ...] | None = None
    testable_from: float | None = None
    power: str = ""
    registered_in: str | None = None
    note: str = ""


def method_cells(experiment: Experiment) -> dict[str, set[int]]:
    """Every name a claim may give a side of ``experiment`` -> the seeds planned for it: each
    method, and for a sweep each of its cells (``"diiqn dataset_size=30000"``, as the aggregate
    names them)."""
    cells: dict[str, set[int]] = {}
    for label, runs in experiment.methods.items():
        cells[label] = {run.seed for run in runs}
        if experiment.sweep and label not in experiment.sweep.get("anchors", []):
            key = experiment.sweep["key"]
            for value in experiment.sweep["values"]:
                shown = f"{value:g}" if isinstance(value, int | float) and \
                    not isinstance(value, bool) else str(value)
                cells[f"{label} {key}={shown}"] = cells[label]
    return cells


def _budget(experiment: Experiment, env: str) -> set[int]:
    return {run.steps for runs in experiment.methods.values() for run in runs if run.env == env}


def check(spec: ClaimSpec, experiments: dict[str, Experiment]) -> None:
    """Raise ``ClaimsFileError`` where ``spec`` names what its experiment lacks."""
    where = f"config/claims.yaml, {spec.id}"
    if spec.experiment not in experiments:
        raise ClaimsFileError(f"{where}: experiment {spec.experiment!r} is not in the config "
                              f"(experiments: {', '.join(sorted(experiments))})")
    experiment = experiments[spec.experiment]
    cells = method_cells(experiment)
    for side in (spec.method, spec.against):
        if side != "expert" and side not in cells:
            raise ClaimsFileError(f"{where}: {spec.experiment} has no method {side!r} "
                                  f"(its methods: {', '.join(sorted(cells))})")
    if spec.method == "expert":
        raise ClaimsFileError(f"{where}: method is the side the claim is about; the expert is "
                              "only ever `against`")
    if (spec.against == "expert") != (spec.effect == "level"):
        raise ClaimsFileError(f"{where}: a level (effect: level) is read against `expert`, "
                              "and only a level is")
    needs = {"head_start": "until", "return_at": "at", "steps_to_level": "level"}
    name = spec.measure["name"]
    if name in needs and needs[name] not in spec.measure:
        raise ClaimsFileError(f"{where}: measure {name} needs `{needs[name]}`")
    for env in spec.envs or ():
        if env not in experiment.envs:
            raise ClaimsFileError(f"{where}: {spec.experiment} has no env {env!r} (its envs: "
                                  f"{', '.join(experiment.envs)})")
    missing = sorted(set(spec.seeds) - cells[spec.method])
    if missing:
        raise ClaimsFileError(f"{where}: {spec.method} of {spec.experiment} plans no seed "
                              f"{', '.join(map(str, missing))}")
    for env in spec.envs or experiment.envs:
        wanted = spec.budget.get(env) if isinstance(spec.budget, dict) else spec.budget
        if wanted is not None and wanted not in _budget(experiment, env):
            raise ClaimsFileError(f"{where}: budget {wanted} on {env}, but {spec.experiment} "
                                  f"trains {sorted(_budget(experiment, env))} steps there")


def load(path: Path = CLAIMS_FILE, experiments: dict[str, Experiment] | None = None,
         other_scale: bool = False) -> list[ClaimSpec]:
    """The claims of ``path``, validated against the schema (one line naming the entry and the
    key) and, given the config's ``experiments`` (``experiments.plan``), against them.

    The claims are written for the default config (config/config.yaml), which has every
    experiment, and a test holds every claim to it in full, so a misspelt name cannot hide
    there. A config at ``other_scale`` (the tests', the paper's) has other envs, seeds, budgets
    and sometimes fewer methods: there only the schema is checked, and a claim whose cells the
    config lacks reads "not run"."""
    import jsonschema
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ClaimsFileError(f"{path}: cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ClaimsFileError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    validator = jsonschema.Draft202012Validator(yaml.safe_load(SCHEMA.read_text()))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        place = ".".join(str(p) for p in error.absolute_path) or "the file"
        if len(error.absolute_path) >= 2 and isinstance(data, dict):
            entry = data["claims"][error.absolute_path[1]]
            if isinstance(entry, dict) and "id" in entry:
                place = f"{entry['id']}: " + ".".join(str(p) for p in
                                                      list(error.absolute_path)[2:])
        raise ClaimsFileError(f"{path}, {place}: {error.message}")
    specs = []
    for entry in data["claims"]:
        entry = dict(entry)
        entry["seeds"] = tuple(entry["seeds"])
        if "envs" in entry:
            entry["envs"] = tuple(entry["envs"])
        specs.append(ClaimSpec(**entry))
    ids = [spec.id for spec in specs]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ClaimsFileError(f"{path}: ids given twice: {', '.join(twice)}")
    if experiments is not None and not other_scale:
        for spec in specs:
            check(spec, experiments)
    return specs
