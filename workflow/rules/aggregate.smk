# rliable statistics of one experiment's runs: scores, curves, intervals, poi, profiles, and
# the DIIQN-family diagnostics over training (CSV).


rule aggregate:
    conda:
        "../../environment.yml"
    input:
        runs=experiment_summaries,
        experts=experiment_experts,
    output:
        multiext("results/aggregate/{experiment}/", "scores.csv", "curves.csv",
                 "intervals.csv", "poi.csv", "profiles.csv", "diagnostics.csv",
                 "steps_to_threshold.csv"),
    params:
        py=PY,
        runs=lambda wildcards, input: " ".join(str(Path(p).parent) for p in input.runs),
        experts=lambda wildcards, input: str(Path(input.experts[0]).parent.parent),
        last=config.get("last_evaluations", 3),
        reps=config.get("bootstrap_reps", 2000),
        threshold=config.get("threshold", 0.9),
        out=lambda wildcards, output: str(Path(output[0]).parent),
    log:
        "logs/aggregate/{experiment}.log",
    shell:
        "{params.py} -m algos aggregate {params.runs} --experts {params.experts} "
        "--out {params.out} "
        "--last {params.last} --reps {params.reps} --experiment {wildcards.experiment} "
        "--threshold {params.threshold} "
        "> {log} 2>&1"
