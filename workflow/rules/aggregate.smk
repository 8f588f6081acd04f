# The statistics of one experiment's runs (CSV), and a verdict for each claim of the paper.
#
# As for experts, datasets and runs (experts.smk), no job's Snakemake output is a committed
# file: each is a marker (`manifest.done`, `workflow.done`, `claims.done`, never committed)
# written after its command succeeded, so Snakemake's deletion of a failed or interrupted job's
# outputs never touches the evidence. The commands themselves write whole: the aggregate and
# the figures into a new folder that takes the old one's place in one step, the manifest and
# claims.csv by a rename. A job first removes the markers of what is made from its product
# (made_from_aggregate): Snakemake does not remake a missing file while what was made from it is
# there, so without that an interrupted job would never be redone.


rule manifest:
    output:
        "results/aggregate/{experiment}/manifest.done",
    params:
        # Every planned run, finished or not: the aggregate scores those that are finished
        # and counts the others (cells.csv), so a partial experiment says what it lacks.
        manifest=lambda wildcards: PLANNED[wildcards.experiment].manifest(),
        after=lambda wildcards: [aggregate_marker(wildcards.experiment),
                                 *made_from_aggregate(wildcards.experiment)],
    log:
        "logs/aggregate/{experiment}_manifest.log",
    run:
        write_manifest(output[0], params.manifest, params.after, log[0])


rule aggregate:
    conda:
        "../../environment.yml"
    input:
        runs=experiment_summaries,
        experts=experiment_experts,
        manifest=rules.manifest.output,
    output:
        "results/aggregate/{experiment}/workflow.done",
    params:
        experts="results/experts",
        last=config["last_evaluations"],
        reps=config["bootstrap_reps"],
        threshold=config["threshold"],
        folder=subpath(output[0], parent=True),
        after=lambda wildcards: made_from_aggregate(wildcards.experiment),
    log:
        "logs/aggregate/{experiment}.log",
    shell:
        "rm -f {params.after} && python -m algos aggregate --manifest "
        "{params.folder}/manifest.json --experts {params.experts} --out {params.folder} "
        "--last {params.last} --reps {params.reps} --threshold {params.threshold} > {log} 2>&1 "
        "&& sha256sum {params.folder}/tables.json > {output}"


rule claims:
    conda:
        "../../environment.yml"
    input:
        expand(rules.aggregate.output, experiment=EXPERIMENTS),
        claims=str(Path(workflow.basedir) / "config" / "claims.yaml"),
    output:
        "results/aggregate/claims.done",
    params:
        table="results/aggregate/claims.csv",
    log:
        "logs/aggregate/claims.log",
    shell:
        "python -m algos claims results/aggregate --out {params.table} --claims {input[claims]} "
        "> {log} 2>&1 && sha256sum {params.table} > {output}"
