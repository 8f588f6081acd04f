# Experts and their state-only datasets. Both are protected (read-only once made): retraining an
# expert by accident would also invalidate every dataset and run built on it.


rule expert:
    conda:
        "../../environment.yml"
    output:
        protected("results/experts/{env}/expert.json"),
    params:
        options=expert_options,
        out=subpath(output[0], parent=True),
    log:
        "logs/experts/{env}.log",
    threads: config.get("threads", 1)
    # Experts and datasets first: every run of their env waits on them, so a late expert would
    # leave the cores idle at the end (Snakemake's scheduler does not see the critical path).
    priority: 10
    resources:
        mem_mb=1500,
        runtime=600,
    shell:
        "python -m algos expert --game {wildcards.env} {params.options} --threads {threads} "
        "--out {params.out} > {log} 2>&1"


rule dataset:
    conda:
        "../../environment.yml"
    input:
        "results/experts/{env}/expert.json",
    output:
        protected("results/datasets/{env}/n{size}.npz"),
    params:
        epsilon=config["dataset"].get("epsilon", 0.01),
        expert=subpath(input[0], parent=True),
    log:
        "logs/datasets/{env}/n{size}.log",
    priority: 10
    resources:
        mem_mb=1000,
        runtime=60,
    shell:
        "python -m algos dataset --expert {params.expert} --size {wildcards.size} --seed 0 "
        "--epsilon {params.epsilon} --out {output} > {log} 2>&1"
