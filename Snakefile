# The DIIQN suite's experiments, from experts to figures. Each rule calls the algos CLI.
#
#   snakemake --cores 2 all_figures                       # every experiment, default scale
#   snakemake --cores 2 tau_sensitivity                   # one experiment
#   snakemake --cores 64 --configfile config/paper.yaml   # the paper's protocol
#   snakemake --profile profiles/slurm all_figures        # on a SLURM cluster
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


if not config:  # --configfile replaces the default instead of being merged into it

    configfile: str(Path(workflow.basedir) / "config" / "config.yaml")



validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/experts.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


localrules: all_figures, aggregate, figures, sweep_figure, diagnostics_figure, bridging_figure


rule all_figures:
    input:
        [figure for experiment in EXPERIMENTS for figure in experiment_figures(experiment)],
    default_target: True


# One target per experiment of the paper: DIIQN against DQN and the imitation baselines; the
# confidence Φ ablated; the expert dataset's size; c_max; τ; heterogeneous actions (HA-DIIQN).
for _experiment in EXPERIMENTS:

    rule:
        name:
            _experiment
        input:
            experiment_figures(_experiment),
