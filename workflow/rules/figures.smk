# An experiment's figures (algos/evidence/figures.py lists them; `plot` draws those that apply), PNG and
# PDF, in one job: most of a figure job is its imports. Each PNG is in the report with its own
# caption (the report's pattern gives the figure's name).


rule figures:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        report(directory("figures/{experiment}"), patterns=["{figure}.png"],
               caption="../report/figure.rst", category="{experiment}"),
    params:
        captions=lambda wildcards: {name: FIGURES[name].caption
                                    for name in experiment_figures(wildcards.experiment)},
        folder=subpath(input[0], parent=True),
    log:
        "logs/figures/{experiment}.log",
    shell:
        "python -m algos plot {params.folder} --out {output} > {log} 2>&1"
