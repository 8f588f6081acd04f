# Experts and their state-only datasets. Each job's output is a marker (`workflow.done`,
# `n{size}.done`) written after the command succeeds, never the expert's or the dataset's own
# files: Snakemake deletes a job's outputs before it reruns it (after a config change), and an
# expert or a dataset must never be lost that way. The command itself keeps what exists: the
# same settings are a no-op, other settings stop with what differs (docs/faults.md). A marker
# holds the checksum of the product's description: Snakemake compares small files by content,
# so a remade product (another checksum) reruns what depends on it, and a marker rewritten over
# the same product does not.


rule expert:
    conda:
        "../../environment.yml"
    output:
        "results/experts/{env}/workflow.done",
    params:
        options=expert_options,
        out=subpath(output[0], parent=True),
    log:
        "logs/experts/{env}.log",
    threads: config["threads"]
    # Experts and datasets first: every run of their env waits on them, so a late expert would
    # leave the cores idle at the end (Snakemake's scheduler does not see the critical path).
    priority: 10
    resources:
        mem_mb=1500,
        runtime=600,
    shell:
        "python -m algos expert --game {wildcards.env} {params.options} --threads {threads} "
        "--out {params.out} > {log} 2>&1 && sha256sum {params.out}/expert.json > {output}"


rule dataset:
    conda:
        "../../environment.yml"
    input:
        "results/experts/{env}/workflow.done",
    output:
        "results/datasets/{env}/n{size}.done",
    params:
        epsilon=config["dataset"]["epsilon"],
        expert=subpath(input[0], parent=True),
        npz=lambda wildcards: dataset_file(wildcards.env, wildcards.size),
        description=lambda wildcards: dataset_file(wildcards.env, wildcards.size, ".json"),
    log:
        "logs/datasets/{env}/n{size}.log",
    priority: 10
    resources:
        mem_mb=1000,
        runtime=60,
    shell:
        "python -m algos dataset --expert {params.expert} --size {wildcards.size} --seed 0 "
        "--epsilon {params.epsilon} --out {params.npz} > {log} 2>&1 "
        "&& sha256sum {params.description} > {output}"
