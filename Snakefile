# The DIIQN suite's experiments, from experts to figures: every job is one command of the algos
# package (python -m algos ...); this file only reads the config and names the targets.
#
#   snakemake all_figures --cores 2                          # every experiment, default scale
#   snakemake tau_sensitivity --cores 2                      # one experiment
#   snakemake all_figures --cores 64 --configfile config/paper.yaml
#   snakemake all_figures --profile profiles/slurm           # on a SLURM cluster
#
# Write the target first: --configfile and --config take several values and would swallow it.
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


# The default config, unless --configfile names another (which replaces it instead of being
# merged into it); --config's values apply on top of either.
if not workflow.overwrite_configfiles:

    configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


from algos.evidence.experiments import PlanError, check_schema
from algos.values import retype_override

# --config reads a list or mapping with YAML's base loader (every scalar a string): read it as
# the config file would have been.
for _key, _value in workflow.config_settings.config.items():
    if isinstance(_value, dict | list):
        config[_key] = retype_override(config[_key])

try:  # one line naming the key; Snakemake's validate (which fills in defaults) then passes
    check_schema(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
except PlanError as err:
    raise WorkflowError(f"config: {err}") from None
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/experts.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


localrules:
    all_figures,
    manifest,
    aggregate,
    figures,
    claims,


# The targets need the jobs' markers (never a committed file: aggregate.smk) and, for the
# report, the figures and claims.csv where they exist.
rule all_figures:
    input:
        expand(rules.figures.output, experiment=EXPERIMENTS),
        rules.claims.output,
        [reported_figures(name) for name in EXPERIMENTS],
        reported_claims(),
    params:
        captions=FIGURE_CAPTIONS,
    default_target: True


# One target per experiment of the config (baseline, confidence_ablation, ..., beyond_expert).
for _experiment in EXPERIMENTS:

    rule:
        name:
            _experiment
        input:
            f"figures/{_experiment}/workflow.done",
            reported_figures(_experiment),
        params:
            captions=FIGURE_CAPTIONS,
