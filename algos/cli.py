"""Command-line interface: ``python -m algos <command>``.

Every step of the workflow is one command, so each can be run, tested and timed by hand. Errors a
user can cause (unknown game or algorithm, bad ``--set``, a run folder holding another config, a
diverging loss) end with one ``error: ...`` line and exit status 2 (bad input) or 1 (failure).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from .config import ConfigError, apply_overrides, describe_fields
from .dqn import DQNAgent, DQNConfig
from .envs import ACTION_NAMES, GAMES, EnvConfig, EnvError, MinAtarEnv, validate_env_config
from .learner import DivergenceError, configure_torch
from .loop import SEED_ENV, ResumeError, check_run_folder, child_seed, config_dict, train_run
from .runs import RunDir

ALGORITHMS = {
    "dqn": (DQNConfig, DQNAgent),
}
"""Algorithm name -> (config dataclass, agent class)."""


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def _train_epilog() -> str:
    blocks = [f"config keys of {name} (--set key=value):\n{describe_fields(cfg)}"
              for name, (cfg, _) in ALGORITHMS.items()]
    example = ("example:\n  python -m algos train dqn --game breakout --seed 0 --steps 100000 "
               "--out results/runs/breakout/dqn/default/seed0")
    return "\n\n".join([example, *blocks])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m algos",
        description="Deep implicit imitation RL on MinAtar (DIIQN, HA-DIIQN and baselines): "
                    "train agents and write resumable run folders.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train one agent into a run folder (resumes if the folder has a checkpoint)",
        description=textwrap.fill(
            "Train one agent on one game and write a run folder: config.json, metrics.csv, "
            "diagnostics.csv, run.json, checkpoint/ and, last, summary.json. Re-running the same "
            "command resumes from the checkpoint; a finished run exits at once. Progress goes to "
            "a bar on a terminal (none when output is redirected).", width=96),
        epilog=_train_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("algo", choices=sorted(ALGORITHMS), metavar="ALGO",
                       help=f"algorithm: {', '.join(sorted(ALGORITHMS))}")
    _add_env_arguments(train)
    train.add_argument("--seed", type=int, required=True,
                       help="the one seed of the run (network, environment, exploration, replay)")
    train.add_argument("--steps", type=_positive_int, required=True,
                       help="environment steps to train for (MinAtar: one step is one frame)")
    train.add_argument("--out", type=Path, required=True, help="run folder to write (or resume)")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="override a field of the algorithm's config (repeatable); "
                            "the keys are listed below")
    train.add_argument("--threads", type=_positive_int, default=1,
                       help="torch CPU threads (default 1: run many seeds side by side)")
    return parser


def _add_env_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", required=True, metavar="GAME",
                        help=f"environment: {', '.join(GAMES)}")
    parser.add_argument("--action-set", default="full", metavar="SPEC",
                        help="actions the agent may take: full (all 6, default), minimal (the "
                             "game's minimal set) or a comma list of "
                             f"{', '.join(ACTION_NAMES)}")
    parser.add_argument("--sticky-prob", type=float, default=0.1, metavar="P",
                        help="probability of repeating the previous action (default 0.1)")
    parser.add_argument("--no-ramping", action="store_true",
                        help="switch off MinAtar's difficulty ramping (on by default)")


def _positive_int(text: str) -> int:
    try:
        value = int(float(text.replace("_", "")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _env_config(args: argparse.Namespace) -> EnvConfig:
    config = EnvConfig(game=args.game, action_set=args.action_set,
                       sticky_action_prob=args.sticky_prob,
                       difficulty_ramping=not args.no_ramping)
    validate_env_config(config)
    return config


def cmd_train(args: argparse.Namespace) -> int:
    config_cls, agent_cls = ALGORITHMS[args.algo]
    env_config = _env_config(args)
    config = apply_overrides(config_cls(), args.overrides)
    run = RunDir(args.out)
    run_config = config_dict(args.algo, config, env_config, args.seed, args.steps)
    check_run_folder(run, run_config)
    if run.finished():
        print(f"{run.root}: run already finished (summary.json present); nothing to do")
        return 0
    configure_torch(args.threads)
    env = MinAtarEnv(env_config, child_seed(args.seed, SEED_ENV))
    agent = agent_cls(config, env.state_shape, env.n_actions, args.seed, args.steps)
    description = f"{args.algo} {env_config.game} seed{args.seed}"
    summary = train_run(agent, run_config, config, env_config, args.seed, args.steps, run,
                        threads=args.threads, description=description)
    print(f"{run.root}: done; final evaluation return {summary['final_eval_return_mean']:.2f} "
          f"({summary['steps_per_second']:.0f} steps/s)")
    return 0


COMMANDS = {"train": cmd_train}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, EnvError, UsageError, ResumeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except DivergenceError as err:
        print(f"error: training diverged: {err}; the run folder keeps its last checkpoint "
              "(try a smaller lr)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume from the last checkpoint",
              file=sys.stderr)
        return 130


__all__ = ["ALGORITHMS", "build_parser", "main"]
