"""Command-line interface: ``python -m algos <command>``.

Every step of the workflow is one command, so each can be run, tested and timed by hand. Errors a
user can cause (unknown game or algorithm, bad ``--set``, a run folder holding another config, a
diverging loss) end with one ``error: ...`` line and exit status 2 (bad input) or 1 (failure).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from algos.cli.arguments import (
    Parser,
    TrainHelp,
    UsageError,
    aggregate_arguments,
    check_dataset_arguments,
    claims_arguments,
    dataset_arguments,
    expert_arguments,
    plot_arguments,
    power_arguments,
    stage_arguments,
    status_arguments,
    tables_arguments,
    train_arguments,
    verify_arguments,
)
from algos.errors import RunFailure, UserError

if TYPE_CHECKING:
    from algos.envs import EnvConfig
    from algos.provenance.runs import RunDir

# Modules are imported where a command needs them, so that a command does not pay for the
# others' imports (torch, rliable): the workflow runs dozens of short figure and aggregate jobs.


def _env(args: argparse.Namespace) -> EnvConfig:
    """The environment options as an ``EnvConfig`` (checked by the command that uses it)."""
    from algos.envs import EnvConfig

    return EnvConfig(game=args.game, action_set=args.action_set,
                     sticky_action_prob=args.sticky_prob, difficulty_ramping=not args.no_ramping)


def cmd_train(args: argparse.Namespace) -> int:
    from algos.train import train

    summary = train(args.algo, _env(args), args.seed, args.steps, args.out, dataset=args.dataset,
                    overrides=args.overrides, threads=args.threads,
                    progress_every=args.progress_every, tensorboard=args.tensorboard)
    if summary is not None:
        print(f"{args.out}: done; final evaluation return "
              f"{summary['final_eval_return_mean']:.2f} ({summary['steps_per_second']:.0f} "
              "steps/s)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from algos.provenance.status import status, status_lines

    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    rows = status(args.folder, _resume_step)
    print("\n".join(status_lines(rows)) if rows else f"{args.folder}: no run folders")
    return 0


def _resume_step(run: RunDir) -> int:
    """``training.checkpoint.resume_step`` (imported when an unfinished run needs it: torch)."""
    from algos.training.checkpoint import resume_step

    return resume_step(run)


def cmd_tables(args: argparse.Namespace) -> int:
    from algos.evidence.tables import headline_markdown, tables_markdown, update_page

    if not args.root.is_dir():
        raise UsageError(f"{args.root}: not a folder of aggregates")
    if args.update is None:
        print(headline_markdown(args.root) if args.headline else tables_markdown(args.root),
              end="")
        return 0
    update_page(args.update, args.root, headline=args.headline)
    print(f"{args.update}: tables written from {args.root}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from algos.train import verify

    found = verify(args.run, args.steps, args.progress_every, args.root)
    for name, difference in found.differences.items():
        if difference:
            print(f"{found.run}: NOT reproduced: {name} {difference}", file=sys.stderr)
    if not found.reproduced:
        return 1
    print(f"{found.run}: reproduced: its first {found.rows} evaluations (to step {found.reach}) "
          "of metrics.csv and diagnostics.csv, every column but wall-clock time, are what this "
          "code trains again" + (f"; left out: {found.left_out}" if found.left_out else ""))
    return 0


def cmd_expert(args: argparse.Namespace) -> int:
    from algos.data.experts import scripted_expert
    from algos.evidence.aggregate import expert_clearly_above_random
    from algos.train import train_expert

    if args.scripted:
        info = scripted_expert(args.scripted, _env(args), args.seed, args.eval_episodes,
                               args.out)
    else:
        info = train_expert(_env(args), args.seed, args.steps, args.out,
                            stop_fraction=args.stop_fraction,
                            reference_score=args.reference_score,
                            eval_episodes=args.eval_episodes, overrides=args.overrides,
                            threads=args.threads, progress_every=args.progress_every)
    if info is None:
        return 0
    what = (f"scripted expert {args.scripted}" if args.scripted
            else f"expert after {info['steps_trained']} steps")
    print(f"{args.out}: {what} returns {info['eval']['return_mean']:.2f} ± "
          f"{info['eval']['return_std']:.2f} (random {info['random']['return_mean']:.2f}) over "
          f"{args.eval_episodes} episodes")
    if not expert_clearly_above_random(info):
        print(f"warning: {args.out}: the expert is not clearly better than the random policy; "
              "scores normalised by it will mean nothing (train it longer)", file=sys.stderr)
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from algos.data.datasets import dataset_from_expert

    made = dataset_from_expert(args.expert, args.out, size=args.size, seed=args.seed,
                               epsilon=args.epsilon, record_effects=not args.no_effects)
    if made is None:
        return 0
    if made.again:
        print(f"{args.out}: arrays made again from the expert and seed; their checksums are "
              "the ones its description holds")
        return 0
    mean = made.info["expert_return_mean"]
    print(f"{args.out}: {args.size} transitions, {made.info['episodes']} episodes "
          f"(expert return {'n/a' if mean is None else f'{mean:.2f}'}), "
          f"{made.info['transitions_per_second']:.0f} transitions/s")
    return 0


def cmd_check_dataset(args: argparse.Namespace) -> int:
    from algos.data.datasets import load_dataset

    data = load_dataset(args.path, game=args.game)
    print(f"{args.path}: ok; {data.summary()}")
    if args.play:
        from algos.agents.diiqn.agent import what_random_play_finds

        found = what_random_play_finds(data, args.play)
        print(f"{args.play} steps of random play: "
              + ", ".join(f"{key} {value:.3f}" for key, value in found.items()))
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from algos.evidence.aggregate import aggregate_into, summary_lines

    tables, asked = aggregate_into(args.out, args.runs, args.manifest, experiment=args.experiment,
                                   experts=args.experts, last=args.last, reps=args.reps,
                                   seed=args.seed, threshold=args.threshold)
    first, *partial = summary_lines(tables, asked)
    print(f"{args.out}: {first}", *partial, sep="\n")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from algos.evidence.plots import draw_folder

    paths = draw_folder(args.aggregate, args.out, args.only)
    print(f"{args.out}: " + ", ".join(p.name for p in paths))
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    from algos.evidence.planning import power_report

    if not 0 < args.target < 1:
        raise UsageError(f"--target must lie between 0 and 1, got {args.target}")
    table = power_report(args.root, args.experiment, args.claims, target=args.target)
    print(table.to_string(index=False, na_rep=""))
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from algos.evidence.claims import write_verdicts

    table = write_verdicts(args.root, args.out, args.claims)
    counts = table["verdict"].value_counts()
    print(f"{args.out}: {len(table)} verdicts: "
          + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    from algos.stage import stage

    counts = stage(args.root)
    print(f"staged files: {sum(counts.values())} ("
          + ", ".join(f"{counts[kind]} {kind}" for kind in ("added", "modified", "deleted"))
          + ")")
    return 0


@dataclass(frozen=True)
class Command:
    """One command of the command line: its one-line help, what adds its arguments (and its
    description) to its parser, and what runs it."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    help_action: type[argparse.Action] | None = None  # -h/--help in place of argparse's own
    resumes: bool = False  # keeps checkpoints: an interrupted command goes on where it stopped


COMMANDS = {
    "train": Command("train one agent into a run folder (resumes if the folder has a "
                     "checkpoint)", train_arguments, cmd_train, TrainHelp, resumes=True),
    "expert": Command("train a suboptimal DQN expert (policy.pt + expert.json)",
                      expert_arguments, cmd_expert, resumes=True),
    "dataset": Command("roll out an expert into a state-only dataset (true actions apart)",
                       dataset_arguments, cmd_dataset),
    "check-dataset": Command("validate a dataset file and print what it holds",
                             check_dataset_arguments, cmd_check_dataset),
    "aggregate": Command("score finished runs and aggregate them with rliable (CSV out)",
                         aggregate_arguments, cmd_aggregate),
    "plot": Command("draw an aggregate folder's figures (PNG and PDF)", plot_arguments,
                    cmd_plot),
    "claims": Command("a verdict for every claim of the paper, from the experiments' tables",
                      claims_arguments, cmd_claims),
    "power": Command("the seeds each claim of an experiment needs, from its runs' spread",
                     power_arguments, cmd_power),
    "verify": Command("spot-check a finished run: train its first steps again and compare",
                      verify_arguments, cmd_verify),
    "tables": Command("the results page's tables (Markdown) from the aggregates",
                      tables_arguments, cmd_tables),
    "status": Command("list the run folders under a folder: step, last return, and state "
                      "(finished, resumable, stale, broken, running)", status_arguments,
                      cmd_status),
    "stage": Command("git add the evidence that reads back (make stage-results); never a "
                     "deletion", stage_arguments, cmd_stage),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command's, or with ``command`` only that one's
    arguments (the others keep their one-line help, for ``--help`` and for the error that names
    the choices)."""
    parser = Parser(
        prog="python -m algos",
        description="Deep implicit imitation RL on MinAtar (DIIQN, HA-DIIQN and baselines): "
                    "train agents and write resumable run folders.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec in COMMANDS.items():
        sub = commands.add_parser(name, help=spec.help, add_help=spec.help_action is None)
        if spec.help_action is not None:
            sub.add_argument("-h", "--help", action=spec.help_action)
        if command in (None, name):
            spec.arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The parser has no options of its own but --help: its first other word names the command
    # (none or an unknown one: the parser needs only the commands' names and help).
    command = next((word for word in argv if not word.startswith("-")), "")
    args = build_parser(command if command in COMMANDS else "").parse_args(argv)
    command = COMMANDS[args.command]
    try:
        return command.run(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RunFailure as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"error: {args.command}: out of memory (this machine cannot hold what it asked "
              "for; smaller sizes or a larger machine)", file=sys.stderr)
        return 1
    except OSError as err:  # no space left, read-only, file too large, permission
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {args.command}: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume from the last checkpoint"
              if command.resumes else "interrupted; re-run the same command", file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "build_parser", "main"]
