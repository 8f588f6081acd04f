"""DIIQN's confidence Φ in the expert: its terms as pure functions, the state they need, and Φ
as the config builds it (``confidence_of``).

``Φ = min(ΔQ · trust(c), ζ)`` per augmented sample (docs/paper.md, "Probable"), with

* ``ΔQ = σ(β [Q(s_e, a_e) - Q(s_e, a_a)])``: does the network rate the expert's action above the
  agent's?
* ``δ(c) = log(1 + min(c, c_max)) / log(1 + c_max)``: how much the network has been trained
  where the sample lies. ``trust(c)`` is δ itself ([KR]'s formula, trust *grows* with training)
  or ``1 - δ`` (trust *decays* as the agent's Q-model becomes trained on a region): both
  readings are settings (``docs/algorithms.md`` says what the runs showed).
* ``ζ = 1 - err / err_max``: how reliable the inferred action is.

``VisitCounts`` keeps c: the number of times the Q-network was trained on an agent sample matched
to an expert state of the region (``state``: one distinct expert state; ``region``: the expert
states that look alike once each channel is max-pooled over ``region_pool``-wide squares), or
the global update count (``updates``). ``GapScale`` keeps the running mean of
|Q(s_e, a_e) - Q(s_e, a_a)|, so that β can be set relative to it.

The settings against a self-fulfilling confidence (docs/algorithms.md, "The confidence loop"):
``q_gaps`` reads the gap from two per-sample values other than the online network's
(``delta_q_source``), ``scale_rows`` picks the samples the gap scale averages
(``gap_scale_rows``), ``same_effect`` judges from the agent's own play whether a_a does what a_e
does (``margin_against=agent``) and ``margin_weights`` fades the large margin with the count
(``margin_decay``).

``confidence_of`` builds, once from the config, the Φ the agent holds: ``FixedConfidence`` or
``DynamicConfidence``, the latter with its source of gaps (``OnlineGaps``, ``TargetNetworkGaps``,
``OwnTargetGaps``) and its β (``FixedBeta``, ``RunningBeta``). A variant is one of these parts,
chosen there, not a branch taken on every batch.

Every transcendental is evaluated in float64 and rounded to float32: float64 ``exp`` and
``log1p`` differ in the last bit between numpy's AVX-512, AVX2 and baseline loops, and a last-bit
difference survives the rounding about once in 2**28 values; the rest is basic arithmetic in
float32, the same on every CPU (docs/performance.md, "Same results on every CPU").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from algos.algorithms import GAP_SCALE_ROWS, MARGIN_DECAYS, TRUSTS, VISIT_COUNTS, DIIQNConfig
from algos.envs import unpack_states
from algos.training.tally import Tally

if TYPE_CHECKING:
    from algos.agents.diiqn.inference import ActionInference
    from algos.agents.diiqn.samples import ExpertSamples, JointPass

SAME_EFFECT_RATIO = 0.5
"""``same_effect``: a_a has the expert's effect where it reproduced the expert's change at least
this share as often (per try) as a_e did."""


def delta_q_term(gap: np.ndarray, beta: float) -> np.ndarray:
    """ΔQ = σ(β gap) for ``gap = Q(s_e, a_e) - Q(s_e, a_a)``: high when the network rates the
    expert's action above the agent's (float32)."""
    x = beta * np.asarray(gap, np.float64)
    return (1.0 / (1.0 + np.exp(-np.clip(x, -100.0, 100.0)))).astype(np.float32)


def q_gaps(values_expert: np.ndarray, values_agent: np.ndarray, expert_actions: np.ndarray,
           agent_actions: np.ndarray) -> np.ndarray:
    """``gap = v_e - v_a`` per sample in float64, exactly 0 where ``a_e = a_a`` (the same
    action shows no preference): the gap of ΔQ read from two per-sample values, e.g. the expert
    row's and the agent row's own targets (``delta_q_source=targets``)."""
    gaps = np.asarray(values_expert, np.float64) - np.asarray(values_agent, np.float64)
    return np.where(np.asarray(expert_actions) == np.asarray(agent_actions), 0.0, gaps)


def scale_rows(gaps: np.ndarray, expert_actions: np.ndarray, agent_actions: np.ndarray,
               rows: str) -> np.ndarray:
    """The gaps that the running gap scale counts: all of them (``all``), or only those of
    samples whose actions differ (``differing``: the exact zeros where a_a = a_e left out)."""
    if rows not in GAP_SCALE_ROWS:
        raise ValueError(f"gap_scale_rows must be one of {', '.join(GAP_SCALE_ROWS)}, "
                         f"got {rows!r}")
    if rows == "all":
        return gaps
    return np.asarray(gaps)[np.asarray(expert_actions) != np.asarray(agent_actions)]


def same_effect(matches: np.ndarray, tries: np.ndarray, transitions: np.ndarray,
                groups: np.ndarray, expert_actions: np.ndarray,
                agent_actions: np.ndarray) -> np.ndarray:
    """Whether the agent's action has the expert's effect, judged from the agent's own play.

    ``matches[t, a]``: the agent's transitions with action a that reproduced distinct expert
    transition t at its best error so far; ``tries[g, a]``: how often a was tried from expert
    state g; sample i is of transition ``transitions[i]`` from state ``groups[i]``. With the
    empirical ``P(a) = matches / tries``, a_a has a_e's effect where
    ``P(a_a) >= SAME_EFFECT_RATIO * P(a_e) > 0`` (a no-op-equivalent move; a sticky repeat alone
    stays below the ratio). True where a_a = a_e. Bool array.
    """
    p_expert = (matches[transitions, expert_actions]
                / np.maximum(tries[groups, expert_actions], 1))
    p_agent = matches[transitions, agent_actions] / np.maximum(tries[groups, agent_actions], 1)
    alike = (p_expert > 0) & (p_agent >= SAME_EFFECT_RATIO * p_expert)
    return alike | (expert_actions == agent_actions)


def margin_weights(weight: float, delta: np.ndarray, decay: str) -> np.ndarray:
    """Per-sample weight of the large margin: λ everywhere (``none``) or ``λ (1 - δ(c))``
    (``count``: it fades as the state's count c reaches c_max); float32."""
    if decay not in MARGIN_DECAYS:
        raise ValueError(f"margin_decay must be one of {', '.join(MARGIN_DECAYS)}, got {decay!r}")
    delta = np.asarray(delta, np.float32)
    if decay == "none":
        return np.full(delta.shape, weight, dtype=np.float32)
    return np.float32(weight) * (np.float32(1.0) - delta)


def delta_term(counts: np.ndarray | float, c_max: int) -> np.ndarray:
    """δ = log(1 + min(c, c_max)) / log(1 + c_max): how trained the Q-estimates are, in [0, 1]
    (float32)."""
    return (np.log1p(np.minimum(counts, c_max)) / np.log1p(c_max)).astype(np.float32)


def trust_term(delta: np.ndarray, trust: str) -> np.ndarray:
    """The training-frequency factor of Φ: δ (``growing``) or 1 - δ (``decaying``)."""
    if trust not in TRUSTS:
        raise ValueError(f"trust must be one of {', '.join(TRUSTS)}, got {trust!r}")
    return delta if trust == "growing" else np.float32(1.0) - delta


def zeta_term(errors: np.ndarray, err_max: float) -> np.ndarray:
    """ζ = 1 - err / err_max: how reliable the inferred action is, in [0, 1] (1 if err_max is 0,
    i.e. every recorded match was perfect); float32."""
    if err_max <= 0:
        return np.ones(np.shape(errors), dtype=np.float32)
    return np.clip(1.0 - np.asarray(errors, np.float64) / err_max, 0.0, 1.0).astype(np.float32)


def confidence(delta_q: np.ndarray, trust: np.ndarray, zeta: np.ndarray) -> np.ndarray:
    """Φ = min(ΔQ · trust, ζ), in float32."""
    return np.minimum(np.float32(delta_q) * np.float32(trust), np.float32(zeta))


def pooled_regions(group_states: np.ndarray, state_shape: tuple[int, int, int],
                   pool: int) -> np.ndarray:
    """Region id of each distinct expert state: states whose channels, max-pooled over
    ``pool`` x ``pool`` squares, are equal share a region (ids in order of first appearance)."""
    channels, height, width = state_shape
    states = unpack_states(group_states, state_shape)
    pad_h, pad_w = -height % pool, -width % pool
    states = np.pad(states, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)))
    pooled = states.reshape(len(states), channels, (height + pad_h) // pool, pool,
                            (width + pad_w) // pool, pool).any(axis=(3, 5))
    keys = np.packbits(pooled.reshape(len(states), -1), axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


class VisitCounts:
    """c per region of expert states: how often the Q-network has been trained there.

    Args:
        kind: ``updates`` (one global count, read from the learner), ``state`` or ``region``.
        regions: region id of each distinct expert state (``state``: the identity).
    """

    def __init__(self, kind: str, regions: np.ndarray):
        if kind not in VISIT_COUNTS:
            raise ValueError(f"visit_count must be one of {', '.join(VISIT_COUNTS)}, "
                             f"got {kind!r}")
        self.kind, self.regions = kind, regions
        self.counts = np.zeros(int(regions.max(initial=-1)) + 1, dtype=np.int64)

    @classmethod
    def over(cls, kind: str, group_states: np.ndarray, state_shape: tuple[int, int, int],
             pool: int) -> VisitCounts:
        """Counts of ``kind`` over the distinct expert states ``group_states``: one region
        each, or (``region``) those alike once max-pooled over ``pool``-wide squares."""
        regions = (pooled_regions(group_states, state_shape, pool) if kind == "region"
                   else np.arange(len(group_states)))
        return cls(kind, regions)

    def of(self, groups: np.ndarray, updates: int) -> np.ndarray:
        """c of the regions of expert states ``groups``."""
        if self.kind == "updates":
            return np.full(len(groups), updates, dtype=np.int64)
        return self.counts[self.regions[groups]]

    def trained(self, groups: np.ndarray) -> None:
        """One update trained on agent samples matched to ``groups`` (repeats count); the
        global count (``updates``) is the learner's own."""
        if self.kind != "updates":
            np.add.at(self.counts, self.regions[groups], 1)

    def __len__(self) -> int:
        return len(self.counts)


class GapScale:
    """Running mean of |Q(s_e, a_e) - Q(s_e, a_a)| over usable samples (exponential, with
    ``rate`` per batch; the first batch sets it)."""

    def __init__(self, rate: float = 0.01):
        self.rate, self.value = rate, 0.0

    def update(self, gaps: np.ndarray) -> None:
        if not len(gaps):
            return
        batch = float(np.abs(np.asarray(gaps, np.float64)).mean())
        self.value = batch if self.value == 0.0 else self.value + self.rate * (batch - self.value)


# --- Φ as the config builds it ------------------------------------------------------------

PHI_COUNTERS = ("phi", "delta_q", "delta", "trust", "zeta", "count", "beta")
"""The sums behind ``phi_diagnostics`` in the agent's tally (Φ adds its terms; the agent adds
c, which Φ and the margin share)."""


def phi_diagnostics(tally: Tally) -> dict[str, float]:
    """Φ and its terms, mean per usable sample since the tally's last restart."""
    return {f"{name}_mean": tally.ratio(name, "usable")
            for name in ("phi", "delta_q", "delta", "trust", "zeta")} | {
        "c_mean": tally.ratio("count", "usable"), "beta_mean": tally.ratio("beta", "usable")}


def online_gaps(q_expert: np.ndarray, expert_actions: np.ndarray,
                agent_actions: np.ndarray) -> np.ndarray:
    """``Q(s_e, a_e) - Q(s_e, a_a)`` per sample (float64) from Q-values at s_e, one row each."""
    rows = np.arange(len(q_expert))
    return (q_expert[rows, expert_actions].astype(np.float64)
            - q_expert[rows, agent_actions].astype(np.float64))


class GapSource(Protocol):
    """Where ΔQ's gap ``Q(s_e, a_e) - Q(s_e, a_a)`` is read (``delta_q_source``)."""

    def __call__(self, joint: JointPass, expert: ExpertSamples,
                 agent_actions: np.ndarray) -> np.ndarray:
        """The gap per usable sample (float64)."""


class OnlineGaps:
    """From the online network (``online``), which the margin shapes."""

    def __call__(self, joint: JointPass, expert: ExpertSamples,
                 agent_actions: np.ndarray) -> np.ndarray:
        return online_gaps(joint.expert_q(), expert.actions, agent_actions)


class TargetNetworkGaps:
    """From the target network at s_e (``target``)."""

    def __init__(self, target: torch.nn.Module):
        self.target = target

    def __call__(self, joint: JointPass, expert: ExpertSamples,
                 agent_actions: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            q_target = self.target(
                joint.states[:joint.k][torch.from_numpy(joint.state_rows[joint.n:])]).numpy()
        rows = np.arange(len(expert.rows))
        return q_gaps(q_target[rows, expert.actions], q_target[rows, agent_actions],
                      expert.actions, agent_actions)


class OwnTargetGaps:
    """From the expert row's and the agent row's own Double-DQN targets, ``y_e - y_a``
    (``targets``: does a_e lead somewhere better?), 0 where a_a = a_e."""

    def __call__(self, joint: JointPass, expert: ExpertSamples,
                 agent_actions: np.ndarray) -> np.ndarray:
        # td = y - Q(s, a): y = td + Q(s, a) (to float32 rounding).
        td, q, n = joint.td.numpy(), joint.q.detach().numpy(), joint.n
        rows = np.arange(len(expert.rows))
        y_agent = td[expert.rows] + q[expert.rows, agent_actions]
        y_expert = td[n:] + q[n + rows, expert.actions]
        return q_gaps(y_expert, y_agent, expert.actions, agent_actions)


class FixedBeta:
    """β as given (``beta_scale=fixed``: the paper's reading)."""

    def __init__(self, beta: float):
        self.beta = beta

    def __call__(self, gaps: np.ndarray, expert_actions: np.ndarray,
                 agent_actions: np.ndarray) -> float:
        return self.beta


class RunningBeta:
    """β in units of the running mean gap (``beta_scale=running``), over the rows
    ``gap_scale_rows`` names; each batch's gaps update the scale first."""

    def __init__(self, beta: float, scale: GapScale, rows: str):
        self.beta, self.scale, self.rows = beta, scale, rows

    def __call__(self, gaps: np.ndarray, expert_actions: np.ndarray,
                 agent_actions: np.ndarray) -> float:
        self.scale.update(scale_rows(gaps, expert_actions, agent_actions, self.rows))
        return self.beta / self.scale.value if self.scale.value > 0 else self.beta


class FixedConfidence:
    """Φ = ``fixed_phi`` for every usable sample (``confidence=fixed``; no gap is read)."""

    def __init__(self, phi: float, tally: Tally):
        self.phi, self.tally = phi, tally

    def gaps(self, joint: JointPass, expert: ExpertSamples,
             agent_actions: np.ndarray) -> None:
        return None

    def __call__(self, q_expert: np.ndarray, expert: ExpertSamples, agent_actions: np.ndarray,
                 gaps: np.ndarray | None = None) -> np.ndarray:
        self.tally.add(phi=self.phi * len(expert.rows))
        return np.full(len(expert.rows), self.phi, dtype=np.float32)


class DynamicConfidence:
    """Φ = min(ΔQ · trust(c), ζ) per usable sample (``confidence=dynamic``), its gaps from
    ``source`` and its β from ``beta``; ``use_delta_q``, ``use_delta`` and ``use_zeta`` replace
    a term by 1."""

    def __init__(self, config: DIIQNConfig, source: GapSource, beta: FixedBeta | RunningBeta,
                 inference: ActionInference, tally: Tally):
        self.config, self.source, self.beta = config, source, beta
        self.inference, self.tally = inference, tally

    def gaps(self, joint: JointPass, expert: ExpertSamples,
             agent_actions: np.ndarray) -> np.ndarray:
        """ΔQ's gap per usable sample, read from the source."""
        return self.source(joint, expert, agent_actions)

    def __call__(self, q_expert: np.ndarray, expert: ExpertSamples, agent_actions: np.ndarray,
                 gaps: np.ndarray | None = None) -> np.ndarray:
        """Φ per usable sample, its terms added to the tally; ``gaps`` from ``gaps`` (None:
        from ``q_expert``, the online network's)."""
        config, m = self.config, len(expert.rows)
        ones = np.ones(m, dtype=np.float32)
        if gaps is None:
            gaps = online_gaps(q_expert, expert.actions, agent_actions)
        beta = self.beta(gaps, expert.actions, agent_actions)
        delta_q = delta_q_term(gaps, beta) if config.use_delta_q else ones
        delta = delta_term(expert.counts, config.c_max)
        trust = trust_term(delta, config.trust) if config.use_delta else ones
        err_max = config.err_max or self.inference.max_error
        zeta = zeta_term(expert.errors, err_max) if config.use_zeta else ones
        phi = confidence(delta_q, trust, zeta)
        terms = {"delta_q": delta_q, "delta": delta, "trust": trust, "zeta": zeta, "phi": phi}
        self.tally.add(beta=beta * m, **{k: v.sum(dtype=np.float64) for k, v in terms.items()})
        return phi


def confidence_of(config: DIIQNConfig, target: torch.nn.Module, inference: ActionInference,
                  scale: GapScale, tally: Tally) -> FixedConfidence | DynamicConfidence:
    """The Φ that ``config`` asks for: its mode, the source of ΔQ's gaps (``target``: the
    learner's target network) and its β (``scale``: the agent's running gap scale, which
    outlives a rebuilt Φ). Its terms go to ``tally``."""
    if config.confidence == "fixed":
        return FixedConfidence(config.fixed_phi, tally)
    sources = {"online": OnlineGaps(), "target": TargetNetworkGaps(target),
               "targets": OwnTargetGaps()}
    beta = (RunningBeta(config.confidence_beta, scale, config.gap_scale_rows)
            if config.beta_scale == "running" else FixedBeta(config.confidence_beta))
    return DynamicConfidence(config, sources[config.delta_q_source], beta, inference, tally)
