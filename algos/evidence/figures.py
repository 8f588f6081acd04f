"""The figures of an experiment, by name: one list, read by the command line (``plot``), the
workflow (one job per experiment draws those that apply, each with its caption in the report)
and the tests.

``plots`` draws each with the function of its name; this module does not import matplotlib, so
the workflow and ``--help`` can read the list cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Methods:
    """What a figure's rule sees of an experiment: what its algorithms declare of themselves
    (``algorithms.TRAITS``), never their names."""

    traits: frozenset[str]
    """Every trait some algorithm of the experiment declares."""
    algorithms: int
    """How many algorithms it has."""
    swept: bool
    """Whether it sweeps a setting."""


@dataclass(frozen=True)
class Figure:
    """A figure of an experiment: its caption and where it applies (``plots`` draws it, with the
    function of its name)."""

    caption: str
    applies: Callable[[Methods], bool]
    """Whether to draw it for an experiment of these ``Methods``."""
    over_envs: bool = False
    """Whether it draws the aggregates over envs, which a partial experiment (no method with a
    run on every env yet) does not have: it is then left out."""


def _always(methods: Methods) -> bool:
    return True


def _against_reference(methods: Methods) -> bool:
    """The experiment has the reference learner and something to set against it."""
    return "reference" in methods.traits and methods.algorithms > 1


FIGURES: dict[str, Figure] = {
    "learning_curves": Figure((
        "Evaluation return against environment steps, one panel per environment: the mean over "
        "seeds of each method (a colour and a marker each) with a 95 % bootstrap band, the "
        "expert's return (dashed) and the uniformly random policy's (dotted). Two methods with "
        "the same runs (DIIQN without a usable expert sample is DQN) draw one curve over the "
        "other."), _always),
    "aggregates": Figure((
        "IQM, median, mean and optimality gap of expert-normalised scores ((score - random) / "
        "(expert - random); 1 = the expert) over environments x seeds, with rliable's "
        "stratified-bootstrap 95 % intervals. Scores are the mean evaluation return of each "
        "run's last evaluations."), _always, over_envs=True),
    "profiles": Figure((
        "Performance profiles: the fraction of runs whose expert-normalised score exceeds τ, "
        "with 95 % bootstrap bands; the dashed line is the expert's level."), _always,
        over_envs=True),
    "improvement": Figure((
        "Probability of improvement P(X > Y): the chance that a run of method X scores above a "
        "run of Y on a randomly chosen environment (rliable), with 95 % intervals; 0.5 means no "
        "difference."), _always, over_envs=True),
    "beyond": Figure((
        "Beyond the expert: per environment, the IQM of final expert-normalised scores over "
        "seeds with a 95 % interval (1 = the expert); the share of runs above the expert; and "
        "the probability that a run of each method beats a run of DQN, with 95 % "
        "intervals."), _against_reference, over_envs=True),
    "budget": Figure((
        "The verdict along the budget, one column per environment. Top: the IQM over seeds of "
        "each method's expert-normalised return at every evaluation (each run's mean over its "
        "last evaluations up to that step, as its final score is), with a 95 % bootstrap band; "
        "the dashed line is the expert. Bottom: the probability that a run of each method beats "
        "a run of DQN at that step, with its 95 % band; a filled marker where a one-sided "
        "Mann-Whitney test finds the method ahead at 5 %, its p adjusted for the number of "
        "steps (maxT over relabelings of the runs: 3 runs against 3 reach p = 0.05 only if "
        "every run of the method beats every run of DQN, and no other split of the runs does "
        "so at any step); no marker at a step some run lacks."),
        lambda methods: _against_reference(methods) and not methods.swept),
    "sweep": Figure((
        "Final expert-normalised score against the swept setting (read from each run's "
        "config.json), the mean over seeds with a 95 % bootstrap band; the dashed line is the "
        "expert."), lambda methods: methods.swept),
    "diagnostics": Figure((
        "The DIIQN family over training (mean over environments and seeds, 95 % band): the "
        "accuracy of its inferred expert actions against the hidden true actions, the share of "
        "sampled agent states with an expert state within τ, the share of expert samples whose "
        "inferred action is the agent's own, the share where the network's greedy action is "
        "the expert's, the mean confidence Φ, its terms ΔQ and the trust factor, and the "
        "expert's share of the loss."),
        lambda methods: "confidence" in methods.traits),
    "bridging": Figure((
        "Heterogeneous actions, one row per environment. Left: the environment steps each run "
        "took until its evaluation return first came within the config's threshold of the "
        "expert (0.9 = 90 % of the way from the random policy to the expert); a dot per run, a "
        "cross at the budget for a run that never got there, the bar at the median, and the "
        "count of runs that got there. Then, over training: the share of the loss that comes "
        "from the expert's samples (DIIQN, HA-DIIQN), the share of matched expert samples that "
        "no single agent action reproduces (HA-DIIQN's infeasible share), and the bridges "
        "HA-DIIQN found per evaluation interval (mean over seeds, 95 % band)."),
        lambda methods: "bridges" in methods.traits),
}
"""Every figure, by name, in the order they are listed and drawn."""


def figures_for(algos: set[str], swept: bool) -> list[str]:
    """The figures that apply to an experiment of ``algos``, sweeping a setting or not."""
    # Imported when asked: the command line's start (and every figure job) need not read the
    # registry to list the figures.
    from algos.algorithms import ALGORITHMS

    traits = frozenset().union(*(ALGORITHMS[a].traits for a in algos if a in ALGORITHMS))
    methods = Methods(traits, len(set(algos)), swept)
    return [name for name, figure in FIGURES.items() if figure.applies(methods)]
