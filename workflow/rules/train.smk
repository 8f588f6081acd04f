# One rule trains every run. The run folder holds a checkpoint: a job killed and started again
# resumes it. The output is a marker written after the command succeeds, holding the checksum of
# summary.json (written last by the command, and the command's own): a job rerun after a config
# change deletes only the marker, and the command either finds the finished run with the same
# config (nothing to do) or stops with what differs, so a finished run is never lost.
#
# The live view (config key tensorboard, train --tensorboard) is a param: switching it reruns
# each train job once, a no-op for a finished run (its marker is rewritten with the same
# checksum), and a run still to train writes its view.


rule train:
    conda:
        "../../environment.yml"
    input:
        unpack(train_inputs),
    output:
        "results/runs/{env}/{algo}/{variant}/seed{seed}/workflow.done",
    wildcard_constraints:
        **PLANNED_PARTS,
    params:
        options=train_options,
        steps=lambda wildcards: run_of(wildcards).steps,
        out=subpath(output[0], parent=True),
        view="--tensorboard" if config["tensorboard"] else "",
    log:
        "logs/train/{env}/{algo}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{env}/{algo}/{variant}/seed{seed}.tsv"
    threads: config["threads"]
    resources:
        # Measured: peak RSS 260 MB for DQN with a full 100K replay; DIIQN adds its dataset
        # and index (< 100 MB at 100K). Runtime in minutes: see train_runtime.
        mem_mb=1000,
        runtime=train_runtime,
    shell:
        "python -m algos train {wildcards.algo} --game {wildcards.env} --seed {wildcards.seed} "
        "--steps {params.steps} --threads {threads} --out {params.out} {params.options} "
        "{params.view} > {log} 2>&1 && sha256sum {params.out}/summary.json > {output}"
