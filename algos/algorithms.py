"""The algorithms of the suite: each one's settings, and by name, its agent.

Every algorithm's config is a dataclass here, each extending the training loop's ``LoopConfig``
(DIIQN's extends DQN's, HA-DIIQN's DIIQN's); the docstring under a field is its documentation
(``--help``, ``config/README.md``). They live in this torch-free module rather than beside their
agents so that the workflow, which checks a whole config at start, and the command line's
parsers read them without importing torch, whose import every Snakemake start and every SLURM
job would pay (``docs/performance.md``). ``agent_class`` imports an agent when a run needs it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from algos.config import ConfigError, describe_fields

# The values each choice setting takes. They live here, at the bottom beside the registry, so
# that the agents that interpret them and the config checks that read them import them from one
# place below both.
SIMILARITIES = ("jaccard", "hamming", "exact")
TRUSTS = ("growing", "decaying")
VISIT_COUNTS = ("updates", "state", "region")
DELTA_Q_SOURCES = ("online", "target", "targets")
GAP_SCALE_ROWS = ("all", "differing")
MARGIN_AGAINST = ("rival", "agent")
MARGIN_DECAYS = ("none", "count")
CONFIDENCE_MODES = ("dynamic", "fixed")
BETA_SCALES = ("fixed", "running")
INFERENCE_ON = ("transition", "next_state")
EXPERT_REWARDS = ("inferred", "agent")
BRIDGE_SEARCHES = ("indexed", "brute_force")
GAIFO_REWARDS = ("gail", "airl")
ORIL_REWARDS = ("logit", "probability")


@dataclass
class LoopConfig:
    """Settings of the shared training loop (every algorithm's config extends this)."""

    replay_start: int = 5_000
    """Environment steps of uniformly random actions before learning starts (MinAtar: 5000)."""
    train_every: int = 1
    """Do one learning update every this many environment steps (MinAtar: 1)."""
    epsilon_start: float = 1.0
    """Exploration rate when learning starts."""
    epsilon_end: float = 0.1
    """Exploration rate after the decay (MinAtar: 0.1)."""
    epsilon_decay_steps: int = 100_000
    """Steps after ``replay_start`` over which epsilon falls linearly (MinAtar: 100K)."""
    eval_every: int = 25_000
    """Evaluate every this many environment steps (also at step 0 and at the end)."""
    eval_episodes: int = 10
    """Episodes per evaluation."""
    final_eval_episodes: int = 0
    """Episodes of each of the last ``final_evaluations`` evaluations, the ones a run's final
    score is read from (0: ``eval_episodes``)."""
    final_evaluations: int = 3
    """How many of the run's last evaluations play ``final_eval_episodes`` episodes (the
    workflow's ``last_evaluations``)."""
    eval_epsilon: float = 0.05
    """Exploration rate during evaluation (0.05 as in the DQN papers; 0 is greedy)."""
    eval_max_episode_steps: int = 10_000
    """Cap on the length of an evaluation episode, so a stalling policy cannot hang a run."""
    checkpoint_every: int = 50_000
    """Save a resumable checkpoint every this many environment steps (and at the end)."""

    def validate(self) -> None:
        positive = ("train_every", "epsilon_decay_steps", "eval_every", "eval_episodes",
                    "eval_max_episode_steps", "checkpoint_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.replay_start < 0:
            raise ConfigError(f"replay_start must be >= 0, got {self.replay_start}")
        if self.final_eval_episodes < 0:
            raise ConfigError(f"final_eval_episodes must be >= 0, got {self.final_eval_episodes}")
        if self.final_evaluations < 1:
            raise ConfigError(f"final_evaluations must be at least 1, got "
                              f"{self.final_evaluations}")
        for name in ("epsilon_start", "epsilon_end", "eval_epsilon"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must lie in [0, 1], got {getattr(self, name)}")


@dataclass
class DQNConfig(LoopConfig):
    """Double DQN + prioritized replay. Every field can be set with ``--set key=value``."""

    batch_size: int = 32
    """Transitions per learning update."""
    replay_capacity: int = 100_000
    """Transitions kept in the replay memory (oldest overwritten first)."""
    gamma: float = 0.99
    """Discount factor."""
    lr: float = 2.5e-4
    """Learning rate of centered RMSprop."""
    rms_alpha: float = 0.95
    """RMSprop's smoothing constant of the squared gradient (MinAtar: 0.95)."""
    rms_eps: float = 0.01
    """RMSprop's epsilon, added to the root of the centered second moment (MinAtar: 0.01)."""
    target_update_every: int = 1_000
    """Copy the online network into the target network every this many updates."""
    double: bool = True
    """Double-DQN targets: the online net picks the next action, the target net values it."""
    prioritized: bool = True
    """Proportional prioritized replay; false samples uniformly."""
    per_alpha: float = 0.6
    """Priority exponent: P(i) is proportional to (|TD_i| + per_eps)^per_alpha."""
    per_beta_start: float = 0.4
    """Importance-sampling exponent at the first update, annealed linearly to 1 at the last."""
    per_eps: float = 1e-6
    """Added to |TD| so that no transition gets zero priority."""
    huber_delta: float = 1.0
    """Where the Huber loss turns from squared to absolute error."""
    grad_clip: float = 0.0
    """Clip the gradient norm to this value; 0 (MinAtar's choice) switches clipping off."""

    def validate(self) -> None:
        super().validate()
        for name in ("batch_size", "replay_capacity", "target_update_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size > self.replay_capacity:
            raise ConfigError("batch_size must not exceed replay_capacity")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma must lie in [0, 1], got {self.gamma}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        _check_rmsprop(self)
        for name in ("huber_delta", "per_eps"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.grad_clip < 0:
            raise ConfigError(f"grad_clip must be >= 0 (0: no clipping), got {self.grad_clip}")
        for name in ("per_alpha", "per_beta_start"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must lie in [0, 1], got {getattr(self, name)}")


@dataclass
class ExpertMatchingConfig:
    """The settings of the expert-state index and action inference
    (``agents.diiqn.matching.ExpertMatching``), mixed into the config of an agent that holds one,
    before its loop's config: ``class MyConfig(ExpertMatchingConfig, DQNConfig)``."""

    tau: float = 0.97
    """Similarity threshold τ: an agent state is matched with its nearest expert state only if
    their similarity is at least τ (paper: 97 %). Also gates action inference."""
    metric: str = "jaccard"
    """State similarity: jaccard (shared / union of set bits; default), hamming (1 - Hamming /
    all bits, the paper notes' normalisation) or exact (identical or nothing)."""
    inference_on: str = "transition"
    """Action-inference error D over the whole transition (s and s': default) or next_state
    alone (s' only; s is already matched at >= τ)."""

    def validate(self) -> None:
        super().validate()  # the loop's config this is mixed into
        choices = {"metric": SIMILARITIES, "inference_on": INFERENCE_ON}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ConfigError(f"{name} must be one of {', '.join(valid)}, "
                                  f"got {getattr(self, name)!r}")
        if not 0.0 <= self.tau <= 1.0:
            raise ConfigError(f"tau must lie in [0, 1], got {self.tau}")


@dataclass
class DIIQNConfig(ExpertMatchingConfig, DQNConfig):
    """DIIQN on Double DQN + PER. Every field can be set with ``--set key=value``."""

    confidence: str = "dynamic"
    """dynamic: Φ = min(ΔQ · trust, ζ) per sample; fixed: Φ = ``fixed_phi`` for every usable
    sample (1 trusts only the expert, 0 is plain DQN)."""
    fixed_phi: float = 0.5
    """Φ of every usable sample when ``confidence=fixed``."""
    trust: str = "growing"
    """The training-frequency factor of Φ: growing (δ: the expert weighs more where the network
    is trained) or decaying (1 - δ: trust in the expert fades where the agent's Q-model is
    trained). Both readings of the paper: docs/algorithms.md."""
    confidence_beta: float = 2.0
    """β of ΔQ = σ(β [Q(s_e, a_e) - Q(s_e, a_a)]) (unknown in the paper); with
    ``beta_scale=running`` (default), in units of the running mean |Q(s_e, a_e) - Q(s_e, a_a)|:
    a gap of one mean gives ΔQ = σ(2) = 0.88."""
    beta_scale: str = "running"
    """running: β divided by the running mean Q gap, so that ΔQ reads a preference whatever the
    scale of the Q-values; fixed: β as given (the paper's reading). Why: docs/algorithms.md."""
    c_max: int = 1_000
    """Saturation of the training-frequency weight δ = log(1+min(c, c_max)) / log(1+c_max): the
    count at which a region counts as trained (the paper's 100K-225K and this scale's choice:
    docs/algorithms.md)."""
    visit_count: str = "state"
    """What c counts: state (updates that trained on an agent sample matched to that distinct
    expert state; default), region (the same for the expert states that look alike once
    max-pooled, see region_pool) or updates (learning updates so far, one count for every
    state)."""
    region_pool: int = 2
    """With visit_count=region: expert states whose channels, max-pooled over squares of this
    side, are equal form one region."""
    err_max: float = 0.0
    """Scale of ζ = 1 - err / err_max; 0 uses the running maximum of recorded errors."""
    use_delta_q: bool = True
    """Ablation: false replaces ΔQ by 1."""
    use_delta: bool = True
    """Ablation: false replaces the trust factor (δ or 1 - δ) by 1."""
    use_zeta: bool = True
    """Ablation: false replaces ζ by 1."""
    expert_margin: float = 0.1
    """DQfD's large-margin term in L_e (Hester et al. 2018): ``max_a [Q(s_e, a) + m 1(a != a_e)]
    - Q(s_e, a_e)`` with margin m, zero once the inferred expert action leads every other by m.
    It makes a_e the greedy action where the agent met the expert, so the agent follows the
    expert before rewards have propagated back. 0 keeps L_e a TD loss only (the paper's
    reading)."""
    margin_weight: float = 1.0
    """λ: weight of the large-margin term in L_e (used when ``expert_margin`` > 0)."""
    expert_nstep: int = 1
    """Steps of the expert's own episode in L_e's target: ``sum_k γ^k r_(t+k) + γ^n max Q(s'_
    (t+n-1))`` with the rewards inferred for its next transitions, cut short where one has no
    inferred reward yet or the episode ends. 1: the one-step TD target."""
    skip_unchanged: bool = False
    """Give no expert loss for an expert transition whose next state is its state: nothing
    changed, so it shows nothing of where the expert was going (the mazes' moves into a wall).
    False keeps the paper's use of every transition; how often it matters: docs/algorithms.md."""
    expert_reward: str = "inferred"
    """Reward in L_e: inferred (that of the agent transition that inferred a_e, i.e. of the same
    state change; default) or agent (that of the sampled agent transition)."""
    delta_q_source: str = "online"
    """What ΔQ's gap Q(s_e, a_e) - Q(s_e, a_a) is read from: online (the online network, which
    the margin shapes; default), target (the target network) or targets (the expert row's and
    the agent row's own Double-DQN targets, y_e - y_a: does a_e lead somewhere better)."""
    gap_scale_rows: str = "all"
    """Which samples the running gap scale of ``beta_scale=running`` averages over: all
    (default; the exact zeros where a_a = a_e included) or differing (only where a_a != a_e)."""
    margin_against: str = "rival"
    """The large margin's opponent: rival (the best action other than a_e, DQfD's; default) or
    agent (the agent's own a_a only, where it differs from a_e and the agent's own play shows
    it has a different effect)."""
    margin_decay: str = "none"
    """The large margin's weight: none (λ = ``margin_weight``; default) or count (λ (1 - δ(c)),
    fading as the expert state's count c reaches ``c_max``)."""

    def validate(self) -> None:
        super().validate()
        choices = {"confidence": CONFIDENCE_MODES, "visit_count": VISIT_COUNTS,
                   "expert_reward": EXPERT_REWARDS, "trust": TRUSTS, "beta_scale": BETA_SCALES,
                   "delta_q_source": DELTA_Q_SOURCES, "gap_scale_rows": GAP_SCALE_ROWS,
                   "margin_against": MARGIN_AGAINST, "margin_decay": MARGIN_DECAYS}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ConfigError(f"{name} must be one of {', '.join(valid)}, "
                                  f"got {getattr(self, name)!r}")
        if not 0.0 <= self.fixed_phi <= 1.0:
            raise ConfigError(f"fixed_phi must lie in [0, 1], got {self.fixed_phi}")
        for name in ("c_max", "region_pool", "expert_nstep"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.err_max < 0:
            raise ConfigError(f"err_max must be >= 0 (0: running maximum), got {self.err_max}")
        for name in ("expert_margin", "margin_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass
class HADIIQNConfig(DIIQNConfig):
    """HA-DIIQN: DIIQN plus infeasibility detection and bridging. ``--set key=value``."""

    infeasible_error: float = 0.02
    """An inferred expert transition whose best error D exceeds this is infeasible. D = 0 for a
    reproduced deterministic transition; one cell of difference in a maze's s' gives 1/6 ~ 0.17,
    in a dense MinAtar state a few hundredths, so the default flags any visible mismatch."""
    bridge_agent_steps: int = 3
    """k: the most agent transitions a bridge may take."""
    bridge_expert_steps: int = 3
    """n: a bridge may rejoin the expert's trajectory at any of its next n states."""
    bridge_refresh: int = 1_000
    """Search a found bridge again after this many updates: the replay it came from changes, and
    early on its first action may rest on a few transitions (a sticky repeat stored under
    another action) that later play outweighs. Its cost: docs/performance.md."""
    bridge_retry: int = 100
    """Search again after this many updates where no bridge was found: early in a run the replay
    lacks the agent's detours, and a sample without a bridge gives no expert loss."""
    bridge_search: str = "indexed"
    """indexed (hash of states -> replay slots) or brute_force (scan the replay; same result)."""

    def validate(self) -> None:
        super().validate()
        if self.bridge_search not in BRIDGE_SEARCHES:
            raise ConfigError(f"bridge_search must be one of {', '.join(BRIDGE_SEARCHES)}, "
                              f"got {self.bridge_search!r}")
        for name in ("bridge_agent_steps", "bridge_expert_steps", "bridge_refresh",
                     "bridge_retry"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.infeasible_error < 0:
            raise ConfigError(f"infeasible_error must be >= 0, got {self.infeasible_error}")


@dataclass
class BCOConfig(LoopConfig):
    """BCO (online BCO(α)). Every field can be set with ``--set key=value``."""

    batch_size: int = 32
    """Agent transitions per IDM step, and expert pairs per cloning step."""
    replay_capacity: int = 100_000
    """Agent transitions kept for the inverse-dynamics model."""
    lr: float = 5e-4
    """Learning rate of centered RMSprop, both networks."""
    rms_alpha: float = 0.95
    """RMSprop's smoothing constant (as the Q-learners)."""
    rms_eps: float = 0.01
    """RMSprop's epsilon (as the Q-learners)."""
    refit_idm: bool = True
    """Keep feeding the IDM the agent's transitions after the random phase (BCO(α)); false
    fits it on the ``replay_start`` random pre-demonstration steps only (BCO(0))."""

    def validate(self) -> None:
        super().validate()
        if self.batch_size < 1 or self.replay_capacity < self.batch_size:
            raise ConfigError("batch_size must be at least 1 and at most replay_capacity")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        _check_rmsprop(self)


def _check_rmsprop(config) -> None:
    """RMSprop's constants: a smoothing constant in [0, 1), a positive epsilon."""
    if not 0.0 <= config.rms_alpha < 1.0:
        raise ConfigError(f"rms_alpha must lie in [0, 1), got {config.rms_alpha}")
    if config.rms_eps <= 0:
        raise ConfigError(f"rms_eps must be positive, got {config.rms_eps}")


@dataclass
class LearnedRewardConfig(DQNConfig):
    """DQN on a reward learned from expert-vs-agent classification (GAIfO, ORIL)."""

    classifier_lr: float = 2.5e-4
    """Learning rate (centered RMSprop) of the discriminator / reward model."""
    classifier_every: int = 4
    """One classifier step every this many agent updates (the update ratio); its cost:
    docs/performance.md (benchmarks/imitation_speed.py)."""
    classifier_batch: int = 32
    """Expert pairs, and as many agent transitions, per classifier step."""
    absorbing: bool = True
    """DAC's absorbing state (Kostrikov et al. 2019): an episode that terminates goes on in an
    absorbing state whose reward the classifier learns like any other (the expert's and the
    agent's data each hold one absorbing transition per termination), and a terminal
    transition's target adds its value, γ r_abs / (1 - γ). Without it a reward of fixed sign
    makes termination itself a choice: with a positive reward every step survived pays, with a
    negative one ending the episode early does. false: a termination is worth 0."""

    def validate(self) -> None:
        super().validate()
        if self.classifier_every < 1 or self.classifier_batch < 1:
            raise ConfigError("classifier_every and classifier_batch must be at least 1")
        if self.classifier_lr <= 0:
            raise ConfigError(f"classifier_lr must be positive, got {self.classifier_lr}")


@dataclass
class GAIfOConfig(LearnedRewardConfig):
    """GAIfO with a Double DQN + PER agent. Every field can be set with ``--set key=value``."""

    reward: str = "airl"
    """Reward from the discriminator's probability D that (s, s') is the expert's: airl
    (log D - log(1 - D), the logit, clipped to [-10, 10]; default) or gail (-log(1 - D)). gail
    is always positive, so where episodes end in failure (every MinAtar game) each step
    survived pays whatever the discriminator says: the survival bias of Kostrikov et al.
    (2019). The logit has no fixed sign."""

    def validate(self) -> None:
        super().validate()
        if self.reward not in GAIFO_REWARDS:
            raise ConfigError(f"reward must be one of {', '.join(GAIFO_REWARDS)}, "
                              f"got {self.reward!r}")


@dataclass
class RILOConfig(GAIfOConfig):
    """RILO: GAIfO's discriminator reward added to the task's. Every field can be set with
    ``--set key=value``."""

    imitation_weight: float = 1.0
    """λ of the reward r = r_task + λ r_imitation (r_imitation: GAIfO's, by ``reward``)."""

    def validate(self) -> None:
        super().validate()
        if not self.imitation_weight >= 0:
            raise ConfigError(f"imitation_weight must be >= 0, got {self.imitation_weight}")


@dataclass
class ORILConfig(LearnedRewardConfig):
    """ORIL with a Double DQN + PER agent. Every field can be set with ``--set key=value``."""

    pu_loss: bool = True
    """Positive-unlabelled loss (non-negative risk); false uses plain cross-entropy."""
    positive_prior: float = 0.5
    """η of the PU loss: the share of expert-like states among the agent's (unlabelled) ones."""
    reward: str = "logit"
    """The agent's reward from D = P(expert | s'): logit (log D - log(1 - D), clipped to
    [-10, 10]; no fixed sign) or probability (D itself, ORIL's choice: always positive)."""

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.positive_prior < 1.0:
            raise ConfigError(f"positive_prior must lie in [0, 1), got {self.positive_prior}")
        if self.reward not in ORIL_REWARDS:
            raise ConfigError(f"reward must be one of {', '.join(ORIL_REWARDS)}, "
                              f"got {self.reward!r}")


TRAITS = {
    "reference": "the plain reinforcement learner the others are measured against (beyond, "
                 "budget: P(method > it))",
    "confidence": "logs DIIQN's inference, matching and confidence diagnostics (phi_mean, ...)",
    "bridges": "logs HA-DIIQN's infeasibility and bridge diagnostics (infeasible_share, ...)",
}
"""What an algorithm may declare of itself (``Algorithm.traits``): the figures, the aggregate
and the benchmarks choose by these, never by an algorithm's name."""


@dataclass(frozen=True)
class Algorithm:
    """One entry of ``ALGORITHMS``."""

    config: type[LoopConfig]
    """Its settings."""
    agent: str
    """``module:Class`` of its agent in ``algos``, imported by ``agent_class``."""
    needs_dataset: bool = False
    """Whether it learns from an expert's state-only dataset (``--dataset``)."""
    revision: int = 1
    """Its code's revision: raised by every change that changes its results (docs/runs.md)."""
    ms_per_step: float = 3.5
    """CPU milliseconds per training step, evaluation included, at the default scale, rounded
    up (docs/performance.md): the SLURM time limit of a train job is 1.5 x this x its steps."""
    traits: frozenset[str] = frozenset()
    """What it declares of itself, of ``TRAITS``."""
    wall_clock: tuple[str, ...] = ()
    """Its agent's ``diagnostics.csv`` columns that are timings: they differ between identical
    runs, so verify and the aggregate leave them out."""
    resume_dependent: tuple[str, ...] = ()
    """Its agent's ``diagnostics.csv`` columns that tell how one process answered (a cache
    that a resumed run starts empty): identical in a run trained again without a break, not
    past a resume; verify leaves them out after a run's first resume, and says so."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.traits) - set(TRAITS))
        if unknown:
            raise ValueError(f"unknown traits {unknown}; known: {', '.join(TRAITS)}")


SHARED_REVISION = 2
"""The revision of what every algorithm shares (loop, learner, replay, environments, experts'
datasets): raised by every change there that changes results. With the algorithm's own
``revision`` it enters each run's ``config.json``, so runs of older code are found stale."""

INDEX_ANSWERS = ("index_cache_share", "index_search_share", "index_scan_share",
                 "index_candidates_mean")
"""How the expert-state index answered its queries: by its cache (rebuilt empty when a run
resumes), by a search, and what the searches verified."""

ALGORITHMS: dict[str, Algorithm] = {
    "dqn": Algorithm(DQNConfig, "agents.dqn:DQNAgent", ms_per_step=2.0,
                     traits=frozenset({"reference"})),
    "diiqn": Algorithm(DIIQNConfig, "agents.diiqn.agent:DIIQNAgent", needs_dataset=True,
                       traits=frozenset({"confidence"}), resume_dependent=INDEX_ANSWERS),
    "ha_diiqn": Algorithm(HADIIQNConfig, "agents.ha_diiqn:HADIIQNAgent", needs_dataset=True,
                          traits=frozenset({"confidence", "bridges"}),
                          wall_clock=("bridge_search_ms",), resume_dependent=INDEX_ANSWERS),
    "bco": Algorithm(BCOConfig, "agents.bco:BCOAgent", needs_dataset=True),
    "gaifo": Algorithm(GAIfOConfig, "agents.gaifo:GAIfOAgent", needs_dataset=True, ms_per_step=6.0),
    "oril": Algorithm(ORILConfig, "agents.oril:ORILAgent", needs_dataset=True, ms_per_step=5.0),
    "rilo": Algorithm(RILOConfig, "agents.rilo:RILOAgent", needs_dataset=True, ms_per_step=6.0),
}
"""Algorithm name -> its config, agent, data and what it declares of itself."""


def with_trait(trait: str) -> tuple[str, ...]:
    """The algorithms that declare ``trait`` (of ``TRAITS``), in the registry's order."""
    if trait not in TRAITS:
        raise ValueError(f"unknown trait {trait!r}; known: {', '.join(TRAITS)}")
    return tuple(name for name, algorithm in ALGORITHMS.items() if trait in algorithm.traits)


REFERENCE = with_trait("reference")[0]
"""The plain reinforcement learner every method is measured against (its one ``reference``)."""

DIIQN_FAMILY = tuple(name for name, algorithm in ALGORITHMS.items()
                     if issubclass(algorithm.config, DIIQNConfig))
"""The algorithms whose config extends DIIQN's (the workflow's ``diiqn_set`` sets them)."""

WALL_CLOCK_DIAGNOSTICS = tuple(dict.fromkeys(
    column for algorithm in ALGORITHMS.values() for column in algorithm.wall_clock))
"""Every algorithm's timing columns of ``diagnostics.csv`` (``Algorithm.wall_clock``)."""


def revision(algo: str) -> dict[str, int]:
    """The code revision a run of ``algo`` records in ``config.json``."""
    return {"shared": SHARED_REVISION, algo: ALGORITHMS[algo].revision}


def revision_label(found: object) -> str:
    """A recorded revision (``config.json``'s ``revision``) as one word: ``shared1-diiqn2``;
    ``unrevised`` for a run that records none."""
    if not isinstance(found, dict) or not found:
        return "unrevised"
    return "-".join(f"{key}{value}" for key, value in found.items())

def settings_help(algo: str | None = None) -> str:
    """The config keys (``--set key=value``) with their documentation, for ``train --help``:
    ``algo``'s, or (None) every algorithm's, each key listed once, under the algorithm that
    introduces it."""
    if algo is not None:
        return (f"config keys of {algo} (--set key=value; 'python -m algos train --help' "
                f"lists every algorithm's):\n{describe_fields(ALGORITHMS[algo].config)}")
    configs = {name: algorithm.config for name, algorithm in ALGORITHMS.items()}
    blocks = []
    for name, cfg in configs.items():
        # Fields inherited from another algorithm (or the shared loop) are listed once, there.
        bases = [other for other, c in configs.items()
                 if other != name and c is not cfg and issubclass(cfg, c)]
        # The nearest: the base that is a subclass of every other base.
        base = next((b for b in bases if all(issubclass(configs[b], configs[o])
                                             for o in bases)), None)
        if base is not None:
            shown, extra = describe_fields(cfg, skip=configs[base]), f" (besides {base}'s)"
        elif cfg is not DQNConfig:
            shown, extra = describe_fields(cfg, skip=LoopConfig), " (besides the loop's, see dqn)"
        else:
            shown, extra = describe_fields(cfg), ""
        blocks.append(f"config keys of {name}{extra} (--set key=value):\n{shown}")
    return "\n\n".join(blocks)


def agent_class(algo: str) -> type:
    """The agent class of ``algo`` (imports its module, and with it torch)."""
    module, name = ALGORITHMS[algo].agent.split(":")
    return getattr(importlib.import_module(f".{module}", __package__), name)

