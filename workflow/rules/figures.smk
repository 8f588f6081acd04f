# An experiment's figures (algos/evidence/figures.py lists them; `plot` draws those that apply),
# PNG and PDF, in one job: most of a figure job is its imports. The output is a marker (see
# aggregate.smk): `plot` puts the new folder in the old one's place whole, so a failed or
# interrupted job leaves the committed figures as they were. The report takes each PNG with its
# own caption from the targets' inputs (reported_figures).


rule figures:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        "figures/{experiment}/workflow.done",
    params:
        folder=lambda wildcards: f"results/aggregate/{wildcards.experiment}",
        out=subpath(output[0], parent=True),
    log:
        "logs/figures/{experiment}.log",
    shell:
        "python -m algos plot {params.folder} --out {params.out} > {log} 2>&1 "
        "&& sha256sum {params.folder}/tables.json > {output}"
