# The figures of one experiment, PNG and PDF, each with a caption for snakemake --report.


rule figures:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        report("figures/{experiment}/learning_curves.png",
               caption="../report/learning_curves.rst", category="{experiment}"),
        report("figures/{experiment}/aggregates.png", caption="../report/aggregates.rst",
               category="{experiment}"),
        report("figures/{experiment}/profiles.png", caption="../report/profiles.rst",
               category="{experiment}"),
        report("figures/{experiment}/improvement.png", caption="../report/improvement.rst",
               category="{experiment}"),
    params:
        py=PY,
        folder=lambda wildcards, input: str(Path(input[0]).parent),
        out=lambda wildcards, output: str(Path(output[0]).parent),
    log:
        "logs/figures/{experiment}.log",
    shell:
        "{params.py} -m algos plot {params.folder} --out {params.out} "
        "--only learning_curves aggregates profiles improvement > {log} 2>&1"


rule sweep_figure:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        report("figures/{experiment}/sweep.png", caption="../report/sweep.rst",
               category="{experiment}"),
    params:
        py=PY,
        sweep=sweep_options,
        folder=lambda wildcards, input: str(Path(input[0]).parent),
        out=lambda wildcards, output: str(Path(output[0]).parent),
    log:
        "logs/figures/{experiment}_sweep.log",
    shell:
        "{params.py} -m algos plot {params.folder} --out {params.out} --only sweep {params.sweep} "
        "> {log} 2>&1"


rule diagnostics_figure:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        report("figures/{experiment}/diagnostics.png", caption="../report/diagnostics.rst",
               category="{experiment}"),
    params:
        py=PY,
        folder=lambda wildcards, input: str(Path(input[0]).parent),
        out=lambda wildcards, output: str(Path(output[0]).parent),
    log:
        "logs/figures/{experiment}_diagnostics.log",
    shell:
        "{params.py} -m algos plot {params.folder} --out {params.out} --only diagnostics "
        "> {log} 2>&1"


rule bridging_figure:
    conda:
        "../../environment.yml"
    input:
        rules.aggregate.output,
    output:
        report("figures/{experiment}/bridging.png", caption="../report/bridging.rst",
               category="{experiment}"),
    params:
        py=PY,
        folder=lambda wildcards, input: str(Path(input[0]).parent),
        out=lambda wildcards, output: str(Path(output[0]).parent),
    log:
        "logs/figures/{experiment}_bridging.log",
    shell:
        "{params.py} -m algos plot {params.folder} --out {params.out} --only bridging "
        "> {log} 2>&1"
