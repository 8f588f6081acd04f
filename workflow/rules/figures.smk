# Any figure of any experiment (algos/figures.py lists them), PNG and PDF, with its caption.


rule figure:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        report("figures/{experiment}/{figure}.png", caption="../report/figure.rst",
               category="{experiment}"),
    params:
        caption=lambda wildcards: FIGURES[wildcards.figure].caption,
        folder=subpath(input[0], parent=True),
        out=subpath(output[0], parent=True),
    log:
        "logs/figures/{experiment}/{figure}.log",
    shell:
        "python -m algos plot {params.folder} --out {params.out} --only {wildcards.figure} "
        "> {log} 2>&1"
