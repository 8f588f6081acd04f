"""The claims file: every claim can be tested by the default config (its experiment, methods,
envs, seeds and budget exist), and a malformed or untestable entry fails at start in one line
that names it."""

import copy
from pathlib import Path

import pytest
import yaml

from algos.evidence.claims_file import CLAIMS_FILE, ClaimsFileError, load
from algos.evidence.experiments import check_schema, plan
from conftest import ROOT


def _plan(path: Path) -> dict:
    config = yaml.safe_load(path.read_text())
    check_schema(config, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    config.setdefault("last_evaluations", 3)
    return plan(config)


DEFAULT = _plan(ROOT / "config" / "config.yaml")
ENTRIES = yaml.safe_load(CLAIMS_FILE.read_text())


def test_every_claim_is_testable_by_the_default_config():
    specs = load(experiments=DEFAULT)
    assert specs and len({spec.id for spec in specs}) == len(specs)


def test_the_tests_config_accepts_the_claims_of_the_experiments_it_has():
    load(experiments=_plan(ROOT / ".test" / "config" / "config.yaml"), other_scale=True)


def _write(tmp_path: Path, change) -> Path:
    entries = copy.deepcopy(ENTRIES)
    change(entries["claims"][0])
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True))
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c.update(smallest_efect=0.2), "smallest_efect"),
    (lambda c: c.update(alpha="0.05"), "alpha"),
    (lambda c: c.pop("decision"), "decision"),
    (lambda c: c.update(method="diiqn-nope"), "has no method 'diiqn-nope'"),
    (lambda c: c.update(against="gaifo"), "has no method 'gaifo'"),
    (lambda c: c.update(experiment="long_budgte"), "experiment 'long_budgte' is not in"),
    (lambda c: c.update(envs=["breakout"]), "has no env 'breakout'"),
    (lambda c: c.update(seeds=[0, 1, 9]), "plans no seed 9"),
    (lambda c: c.update(budget=300000), "budget 300000"),
    (lambda c: c.update(measure={"name": "head_start"}), "needs `until`"),
    (lambda c: c.update(against="expert"), "a level"),
])
def test_a_claim_the_config_cannot_test_fails_in_one_line_naming_it(tmp_path, change, message):
    path = _write(tmp_path, change)
    with pytest.raises(ClaimsFileError) as err:
        load(path, experiments=DEFAULT)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert ENTRIES["claims"][0]["id"] in text or "config/claims.yaml" in text or \
        str(path) in text


def test_an_id_given_twice_is_refused(tmp_path):
    entries = copy.deepcopy(ENTRIES)
    entries["claims"].append(copy.deepcopy(entries["claims"][0]))
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True))
    with pytest.raises(ClaimsFileError, match="ids given twice"):
        load(path)


def test_a_config_at_another_scale_is_held_to_the_schema_alone(tmp_path):
    smaller = {name: e for name, e in DEFAULT.items() if name != "long_budget"}
    with pytest.raises(ClaimsFileError, match="is not in the config"):
        load(experiments=smaller)
    load(experiments=smaller, other_scale=True)
    with pytest.raises(ClaimsFileError, match="smallest_efect"):
        load(_write(tmp_path, lambda c: c.update(smallest_efect=0.2)), experiments=smaller,
             other_scale=True)
