# The statistics of one experiment's runs (CSV), and a verdict for each claim of the paper.


rule manifest:
    output:
        "results/aggregate/{experiment}/manifest.json",
    params:
        # Every planned run, finished or not: the aggregate scores those that are finished
        # and counts the others (cells.csv), so a partial experiment says what it lacks.
        manifest=lambda wildcards: PLANNED[wildcards.experiment].manifest(),
    log:
        "logs/aggregate/{experiment}_manifest.log",
    run:
        write_manifest(output[0], params.manifest, log[0])


rule aggregate:
    conda:
        "../../environment.yml"
    input:
        runs=experiment_summaries,
        experts=experiment_experts,
        manifest=rules.manifest.output,
    output:
        multiext("results/aggregate/{experiment}/", "scores.csv", "curves.csv",
                 "diagnostics.csv", "steps_to_threshold.csv", "intervals.csv",
                 "intervals_by_env.csv", "poi.csv", "profiles.csv", "beyond.csv",
                 "cells.csv"),
    params:
        experts="results/experts",
        last=config["last_evaluations"],
        reps=config["bootstrap_reps"],
        threshold=config["threshold"],
        out=subpath(output[0], parent=True),
    log:
        "logs/aggregate/{experiment}.log",
    shell:
        "python -m algos aggregate --manifest {input.manifest} --experts {params.experts} "
        "--out {params.out} --last {params.last} --reps {params.reps} "
        "--threshold {params.threshold} > {log} 2>&1"


rule claims:
    conda:
        "../../environment.yml"
    input:
        expand("results/aggregate/{experiment}/scores.csv", experiment=EXPERIMENTS),
        claims=str(Path(workflow.basedir) / "config" / "claims.yaml"),
    output:
        report("results/aggregate/claims.csv", caption="../report/claims.rst",
               category="Claims of the paper"),
    log:
        "logs/aggregate/claims.log",
    shell:
        "python -m algos claims results/aggregate --out {output} --claims {input[claims]} "
        "> {log} 2>&1"
