"""``--set key=value``: parsing, typing, validation and field documentation."""

import dataclasses
import re

import pytest

from algos.algorithms import DQNConfig
from algos.config import ConfigError, apply_overrides, field_docs
from conftest import ROOT


def test_overrides_are_typed():
    config = apply_overrides(DQNConfig(), ["lr=1e-3", "replay_capacity=1e5", "double=false",
                                           "eval_every=10_000"])
    assert config.lr == 1e-3 and config.replay_capacity == 100_000
    assert config.double is False and config.eval_every == 10_000
    assert DQNConfig().double is True  # the default instance is untouched


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("lrr=0.1", "unknown config key 'lrr'; valid keys: replay_start, "),
        ("batch_size=3.5", "bad value '3.5' for batch_size \\(int\\): expected an integer"),
        ("double=maybe", "expected true or false"),
        ("lr", "--set expects key=value"),
        ("gamma=1.5", "gamma must lie in \\[0, 1\\]"),
        ("batch_size=0", "batch_size must be at least 1"),
        ("eval_epsilon=-0.1", "eval_epsilon must lie in \\[0, 1\\]"),
    ],
)
def test_bad_overrides_are_one_clear_error(assignment, message):
    with pytest.raises(ConfigError, match=message) as info:
        apply_overrides(DQNConfig(), [assignment])
    assert "\n" not in str(info.value)


def test_unknown_key_error_lists_every_valid_key():
    with pytest.raises(ConfigError) as info:
        apply_overrides(DQNConfig(), ["nope=1"])
    for field in dataclasses.fields(DQNConfig):
        assert field.name in str(info.value)


def test_every_config_field_is_documented():
    docs = field_docs(DQNConfig)
    missing = [f.name for f in dataclasses.fields(DQNConfig) if not docs.get(f.name)]
    assert not missing


def test_the_workflow_defaults_live_in_its_schema_alone():
    """The rules read ``config["key"]`` (the schema's validation fills in its defaults), never
    ``config.get("key", default)``: a second default that could drift from the schema's."""
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]:
        found = re.findall(r"config(?:\[[^\]]+\])*\.get\([^)]*,", path.read_text())
        assert not found, f"{path.name}: {found}"


def test_a_command_line_default_is_the_workflow_schemas_and_help_says_it():
    import argparse

    from algos.cli import arguments
    from algos.config import workflow_default

    aggregate = argparse.ArgumentParser()
    arguments.aggregate_arguments(aggregate)
    assert aggregate.get_default("reps") == workflow_default("bootstrap_reps")
    assert f"default {workflow_default('bootstrap_reps')}" in aggregate.format_help()
    with pytest.raises(KeyError):
        workflow_default("no_such_setting")
