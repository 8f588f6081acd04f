"""A training session's record in its run folder: ``run.json`` (who the run is, and a
provenance entry per session: versions, commit, host, threads, memory), and last ``summary.json``,
the seal whose presence means the run is done (the checksums of its files)."""

from __future__ import annotations

from algos.provenance.runs import (
    ResumeError,
    RunDir,
    atomic_write_json,
    now,
    peak_rss_mb,
    provenance,
    read_json,
)


def run_info(run: RunDir, identity: str, vouched: bool, seed: int, env: dict) -> dict:
    """The folder's ``run.json`` where it has one, once it is known to be this run's (marked
    with its ``identity``, or, unmarked (older runs), ``vouched`` for by the matching
    ``config.json`` beside it); else a new one for a run of ``seed`` on ``env``."""
    if not run.run_info.exists():
        return {"started": now(), "seed": seed, "config_sha256": identity, "env": env,
                "sessions": []}
    try:
        info = read_json(run.run_info)
        if not isinstance(info, dict) or not isinstance(info.get("sessions"), list):
            raise ValueError("no sessions")
    except ValueError as err:
        raise ResumeError(f"{run.run_info}: not a run's run.json ({err}); move the run folder "
                          "away to start the run anew") from None
    found = info.get("config_sha256")
    if (found is not None and found != identity) or (found is None and not vouched):
        whose = "another run's" if found is not None else "of an unknown run (no config.json)"
        raise ResumeError(f"{run.run_info}: {whose}; move the run folder away to start the "
                          "run anew")
    return info


def begin(run: RunDir, info: dict, resumed_from: int, threads: int) -> None:
    """Record a session's start (the step it resumes from, its provenance) in ``run.json``."""
    info["sessions"].append({"started": now(), "from_step": resumed_from, "threads": threads,
                             **provenance()})
    info["provenance"] = info["sessions"][-1]
    atomic_write_json(run.run_info, info)


def seal(run: RunDir, info: dict, run_config: dict, metrics: list[dict], *, steps: int,
         resumed_from: int, stopped: bool, episodes: int, wall: float) -> dict:
    """Record the session's end in ``run.json``, then seal the run with ``summary.json`` (its
    contents returned): ``metrics`` are the run's evaluation rows, ``steps`` the steps trained,
    ``wall`` the seconds over every session."""
    final = metrics[-1]
    summary = {
        **{k: run_config[k] for k in ("algo", "game", "seed", "steps")},
        "steps_trained": steps,
        "stopped_early": stopped,
        "episodes": episodes,
        "updates": final["updates"],
        "final_eval_return_mean": final["eval_return_mean"],
        "final_eval_return_std": final["eval_return_std"],
        "best_eval_return_mean": max(r["eval_return_mean"] for r in metrics),
        "wall_seconds": wall,
        "steps_per_second": steps / wall if wall > 0 else None,
        "finished": now(),
    }
    info.update(finished=summary["finished"], wall_seconds=wall,
                steps_per_second=summary["steps_per_second"], peak_rss_mb=peak_rss_mb())
    info["sessions"][-1].update(peak_rss_mb=peak_rss_mb(), steps=steps - resumed_from)
    atomic_write_json(run.run_info, info)
    summary["files"] = run.checksums()
    atomic_write_json(run.summary, summary)  # last: its presence means the run is done
    return summary
