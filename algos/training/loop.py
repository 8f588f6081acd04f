"""The one training loop: acting, evaluation, logging, checkpoints and resume.

Every method of the suite trains through ``train_run``; an algorithm only supplies an ``Agent``
(how to act greedily, what to do with a transition, one learning update). The loop owns the
environment, the epsilon-greedy schedule, evaluation, the run folder and reproducibility:

* One integer seed fixes everything. Independent streams for the environment, the exploration
  draws, the replay sampling and the network initialisation are derived from it with
  ``numpy.random.SeedSequence``; each evaluation uses fresh environments seeded from
  ``(seed, evaluation index)``, so evaluating never disturbs training.
* A checkpoint holds the networks, the optimizer, the replay memory, every RNG state (Python,
  NumPy, torch, the environment's) and the loop's own state (the episode in progress, the metric
  rows so far). Resuming from it continues the exact same trajectory, so a run killed at any
  moment and resumed writes the same ``metrics.csv`` as one never stopped (wall-clock columns
  aside). Its file begins with a header holding the SHA-256 of what follows and the identity of
  its run (``checkpoint.run_identity``, of the run's config): a checkpoint that is damaged or
  that is another run's is refused, and the one before it is tried (``checkpoint.py``).

Evaluation protocol: every ``eval_every`` environment steps (and at step 0 and at the end),
``eval_episodes`` episodes are played epsilon-greedily with ``eval_epsilon`` (0.05, the DQN
papers' convention; 0 gives greedy), each capped at ``eval_max_episode_steps``; ``metrics.csv``
records their mean and standard deviation. The last ``final_evaluations`` evaluations, which a
run's final score is read from, can play more (``final_eval_episodes``): the same first episodes
and more after them, so evaluation noise falls where a verdict is decided.

Each time ``metrics.csv`` and ``diagnostics.csv`` are written, an optional hook (``on_logs``) is
handed every row so far: the live view (``live_view.py``) mirrors them there, and changes
nothing the run writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from algos.algorithms import WALL_CLOCK_DIAGNOSTICS, LoopConfig
from algos.envs import EnvConfig, make_env, pack_states
from algos.provenance.existing import check_run_folder
from algos.provenance.readers import evaluation_steps  # the schedule readers check runs by
from algos.provenance.runs import (
    RunDir,
    atomic_write_csv,
    atomic_write_json,
)
from algos.seeds import Stream, child_seed
from algos.training import checkpoint, session
from algos.training.acting import Agent, epsilon_greedy, evaluate
from algos.training.learner import DivergenceError
from algos.training.progress import Progress

__all__ = ["METRICS_COLUMNS", "WALL_CLOCK_COLUMNS", "WALL_CLOCK_DIAGNOSTICS", "Agent",
           "LogsHook", "epsilon_at", "evaluation_steps", "train_run"]

METRICS_COLUMNS = (
    "env_steps", "frames", "episodes", "updates", "epsilon",
    "eval_return_mean", "eval_return_std", "eval_episodes",
    "train_return_mean", "train_episodes", "loss_mean",
    "wall_seconds", "steps_per_second",
)
"""Columns of ``metrics.csv``. The last two are wall-clock and differ between identical runs:
``wall_seconds`` when the evaluation began (summed over every session of a resumed run), and
``steps_per_second`` the training speed since the previous evaluation, evaluation time excluded."""

WALL_CLOCK_COLUMNS = ("wall_seconds", "steps_per_second")
"""The wall-clock columns of ``metrics.csv``. Those of ``diagnostics.csv`` are each algorithm's
own, declared in the registry: ``WALL_CLOCK_DIAGNOSTICS``, named here too."""

LogsHook = Callable[[list[dict], list[dict]], None]
"""Called with every row of ``metrics.csv`` and of ``diagnostics.csv`` each time they are
written; it must change nothing (it sees the loop's own lists)."""


def epsilon_at(config: LoopConfig, step: int) -> float:
    """MinAtar's schedule: 1 until ``replay_start``, then linear to ``epsilon_end``."""
    if step < config.replay_start:
        return 1.0
    progress = min(1.0, (step - config.replay_start) / config.epsilon_decay_steps)
    return config.epsilon_start + progress * (config.epsilon_end - config.epsilon_start)


class _Trainer:
    """The state of one training run between checkpoints (kept in one object so it saves whole)."""

    def __init__(self, agent: Agent, config: LoopConfig, env_config: EnvConfig, seed: int,
                 total_steps: int, run: RunDir, on_logs: LogsHook | None = None):
        self.agent, self.config, self.env_config = agent, config, env_config
        self.seed, self.total_steps, self.run = seed, total_steps, run
        self.on_logs = on_logs
        self.env = make_env(env_config, child_seed(seed, Stream.ENV))
        self.explore = np.random.default_rng(child_seed(seed, Stream.EXPLORE))
        self.step = 0
        self.episodes = 0
        self.obs = self.env.reset()
        self.episode_return = 0.0
        self.train_returns: list[float] = []  # episodes finished since the last evaluation
        self.losses: list[float] = []  # since the last evaluation
        self.metrics: list[dict] = []
        self.stopped = False  # set when ``stop_when`` ended training before ``total_steps``
        self.diagnostics: list[dict] = []
        self.wall_seconds = 0.0  # accumulated over every session of this run
        self.saved_step: int | None = None  # of the last checkpoint written or read
        self.identity = ""  # of the run (``run_identity``), written into every checkpoint
        self.info: dict = {}  # run.json, this session's entry last
        self.resumed_from = 0  # the step this session began at
        self._session_start = time.perf_counter()
        self._last_eval_wall, self._last_eval_step = 0.0, 0

    # --- checkpoints -----------------------------------------------------------------------
    def save(self) -> None:
        state = {
            "agent": self.agent.state_dict(),
            "env": self.env.state_dict(),
            "explore": self.explore.bit_generator.state,
            "rng": checkpoint.rng_states(),
            "loop": {k: getattr(self, k) for k in ("step", "episodes", "obs", "episode_return",
                                                      "train_returns", "losses", "metrics",
                                                      "diagnostics", "stopped")},
            "wall_seconds": self.elapsed(),
        }
        try:
            checkpoint.save(self.run, state, self.identity)
        except (OSError, RuntimeError) as err:
            reason = " ".join(str(err).split())[:200]
            raise checkpoint.CheckpointError(
                f"cannot write the checkpoint of step {self.step} to {self.run.checkpoint} "
                f"({reason}); {self.saved()}") from None
        self.saved_step = self.step

    def saved(self) -> str:
        """Where a resumed run would start, in words."""
        if self.saved_step is None:
            return "the run has no checkpoint yet (it would start again)"
        return f"the run keeps its checkpoint of step {self.saved_step}"

    def load(self, trust_unmarked: bool = True) -> None:
        """Resume from the last checkpoint that is whole and this run's (``checkpoint.load_latest``;
        ``trust_unmarked`` as there)."""
        state = checkpoint.load_latest(self.run, self.identity, trust_unmarked)
        self.agent.load_state_dict(state["agent"])
        self.env.load_state_dict(state["env"])
        self.explore.bit_generator.state = state["explore"]
        checkpoint.set_rng_states(state["rng"])
        for key, value in state["loop"].items():
            setattr(self, key, value)
        self.wall_seconds = state["wall_seconds"]
        self.saved_step = self.step
        self._session_start = time.perf_counter()
        self._last_eval_wall, self._last_eval_step = self.wall_seconds, self.step

    def elapsed(self) -> float:
        return self.wall_seconds + time.perf_counter() - self._session_start

    # --- evaluation and logging --------------------------------------------------------------
    def log_evaluation(self) -> dict:
        # Speed is of training alone: from the end of the last evaluation to the start of this one.
        wall = self.elapsed()
        interval = wall - self._last_eval_wall
        config = self.config
        final = self.step in evaluation_steps(self.total_steps, config.eval_every)[
            -config.final_evaluations:]
        episodes = (config.final_eval_episodes if final and config.final_eval_episodes
                    else config.eval_episodes)
        returns = evaluate(self.agent, self.env_config, episodes=episodes,
                           epsilon=config.eval_epsilon, max_steps=config.eval_max_episode_steps,
                           seed=self.seed, stream=(Stream.EVAL, len(self.metrics)))
        row = {
            "env_steps": self.step,
            "frames": self.step,  # MinAtar has no frame skip: one step is one frame
            "episodes": self.episodes,
            "updates": self.agent.updates,
            "epsilon": epsilon_at(self.config, self.step),
            "eval_return_mean": float(returns.mean()),
            "eval_return_std": float(returns.std()),
            "eval_episodes": len(returns),
            "train_return_mean": float(np.mean(self.train_returns)) if self.train_returns
            else float("nan"),
            "train_episodes": len(self.train_returns),
            "loss_mean": float(np.mean(self.losses)) if self.losses else float("nan"),
            "wall_seconds": wall,
            "steps_per_second": (self.step - self._last_eval_step) / interval
            if self.step > self._last_eval_step else float("nan"),
        }
        self.metrics.append(row)
        self.diagnostics.append({"env_steps": self.step, **self.agent.take_diagnostics()})
        self.train_returns, self.losses = [], []
        self._last_eval_wall, self._last_eval_step = self.elapsed(), self.step
        self.write_logs()
        return row

    def write_logs(self) -> None:
        atomic_write_csv(self.run.metrics, METRICS_COLUMNS, self.metrics)
        columns = list(dict.fromkeys(k for row in self.diagnostics for k in row))
        atomic_write_csv(self.run.diagnostics, columns, self.diagnostics)
        if self.on_logs is not None:
            self.on_logs(self.metrics, self.diagnostics)

    # --- the loop ----------------------------------------------------------------------------
    def run_steps(self, progress: Progress, stop_when: Callable[[dict], bool] | None) -> None:
        config, agent, env, explore = self.config, self.agent, self.env, self.explore
        n_actions = env.n_actions
        state = pack_states(self.obs)
        if not self.metrics:
            self.log_evaluation()
        while self.step < self.total_steps and not self.stopped:
            step = self.step
            action = epsilon_greedy(agent, self.obs, epsilon_at(config, step), explore, n_actions)
            obs, reward, terminated, truncated = env.step(action)
            next_state = pack_states(obs)
            # The replay learns of terminations only: a time limit is not the task's end.
            agent.observe(state, action, reward, next_state, terminated, step)
            if step >= config.replay_start and step % config.train_every == 0:
                self.losses.append(agent.update(step))
            self.episode_return += reward
            if terminated or truncated:
                self.episodes += 1
                self.train_returns.append(self.episode_return)
                self.episode_return = 0.0
                obs = env.reset()
                next_state = pack_states(obs)
            self.obs, state = obs, next_state
            self.step = step + 1
            if self.step % 1000 == 0:
                progress.advance(self.step)
            if self.step % config.eval_every == 0 or self.step == self.total_steps:
                row = self.log_evaluation()
                progress.evaluated(self.step, row["eval_return_mean"])
                self.stopped = stop_when is not None and stop_when(row)
            if (self.step % config.checkpoint_every == 0 or self.step == self.total_steps
                    or self.stopped):
                self.save()
        progress.advance(self.step)


def train_run(agent: Agent, run_config: dict, config: LoopConfig, env_config: EnvConfig,
              seed: int, total_steps: int, run: RunDir, threads: int = 1,
              description: str = "train", stop_when: Callable[[dict], bool] | None = None,
              progress_every: float = 60.0, on_logs: LogsHook | None = None) -> dict:
    """Train ``agent`` in ``run``'s folder, resuming from its checkpoint if it has one.

    ``run_config`` is the resolved configuration written to ``config.json``; an existing folder
    must hold the same one (else ``ResumeError``), and no other process may be writing it (else
    ``RunLockedError``). ``stop_when(row)``, if given, is asked after every evaluation (``row``
    as in ``metrics.csv``) and ends training early when it returns true. Without a terminal,
    progress is a line every ``progress_every`` seconds. ``on_logs`` (``LogsHook``), if given,
    sees the rows each time the CSV files are written (the live view). Returns the contents of
    ``summary.json``.
    """
    with run.locked():
        trainer = _start_session(agent, run_config, config, env_config, seed, total_steps, run,
                                 threads, on_logs)
        progress = Progress(description, total_steps, trainer.step, progress_every)
        try:
            trainer.run_steps(progress, stop_when)
        except DivergenceError as err:
            raise DivergenceError(f"{err.args[0]}; {trainer.saved()}") from None
        finally:
            progress.close()
        return session.seal(trainer.run, trainer.info, run_config, trainer.metrics,
                            steps=trainer.step, resumed_from=trainer.resumed_from,
                            stopped=trainer.stopped, episodes=trainer.episodes,
                            wall=trainer.elapsed())


def _start_session(agent: Agent, run_config: dict, config: LoopConfig, env_config: EnvConfig,
                   seed: int, total_steps: int, run: RunDir, threads: int,
                   on_logs: LogsHook | None = None) -> _Trainer:
    """A trainer for ``run``'s folder, checked, resumed from its checkpoint if it has one, and
    the session recorded in ``run.json``."""
    check_run_folder(run, run_config)
    run.remove_stale_temporaries()
    # Without config.json, nothing in the folder says whose its files are: only a checkpoint
    # that carries this run's identity, or files marked with it, are taken as this run's.
    vouched = run.config.exists()

    trainer = _Trainer(agent, config, env_config, seed, total_steps, run, on_logs)
    trainer.identity = identity = checkpoint.run_identity(run_config)
    info = session.run_info(run, identity, vouched, seed, trainer.env.describe())
    resumed_from = 0
    if run.checkpoint.exists() or run.previous_checkpoint.exists():
        trainer.load(trust_unmarked=vouched)
        resumed_from = trainer.step
        trainer.write_logs()  # drop rows written after the checkpoint by a killed session
    if not vouched:
        atomic_write_json(run.config, run_config)
    session.begin(run, info, resumed_from, threads)
    trainer.info, trainer.resumed_from = info, resumed_from
    return trainer
