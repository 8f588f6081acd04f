"""HA-DIIQN: DIIQN for an agent whose actions differ from the expert's (docs/paper.md, "Probable").

Some expert transitions cannot be reproduced by any single agent action (a diagonal step for an
agent that moves only along axes). HA-DIIQN adds two things to DIIQN:

1. **Infeasibility.** An expert transition is *infeasible* when even its best inferred agent
   action left an error above ``infeasible_error``: the agent has tried from that state and
   never landed where the expert did.
2. **Bridges.** For an infeasible transition ``s_e^t -> s_e^(t+1)``, a bridge is a path of at most
   ``bridge_agent_steps`` (k) of the agent's own replay transitions from ``s_e^t`` to any of the
   expert's next ``bridge_expert_steps`` (n) states ``s_e^(t+j)``, j <= n, of the same episode,
   or, where the expert's episode ends within those n steps, to the end of an episode of the
   agent's own (``EPISODE_END``: the expert's last move into a maze's goal has no later state to
   rejoin, yet an agent path that also ends its episode there does the same). ``s_e^t`` itself
   is never a target: a loop back to where the expert was is no progress. Its first transition
   ``(s_e^t, a_feas, r, s')`` replaces the expert sample, with ``Φ = ΔQ · δ`` (ζ dropped: that
   action was really taken). No bridge: no expert loss.

The search is a breadth-first search over the agent's transition graph, whose nodes are states
and whose edges are replay transitions (``ReplayGraph``): a dict from a state's bytes to the
distinct states reached from it (and the slots that reach each) gives a node's edges in one
lookup, so a search touches only the states within k steps, and a state revisited thousands of
times (an episode's first frame) costs its few distinct successors, not its thousands of slots.
``brute_force_bridge`` runs the same search but finds each node's edges by scanning the whole
replay, as the paper's search does; both return the same bridge (``tests/test_ha_diiqn.py``),
and ``benchmarks/bridge_speed.py`` measures the two. States match exactly: the mazes are
deterministic, and an exact key is what a hash index can look up.

Bridges are cached per distinct expert transition with the update at which they were found, and
searched again once ``bridge_refresh`` updates have passed, since the replay they came from has
changed by then; a cached bridge keeps copies of its first transition, so overwriting its replay
slot cannot corrupt it. A failed search is retried sooner (``bridge_retry``): the agent's replay
grows the detour a bridge needs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from algos.agents.diiqn.agent import DIIQNAgent
from algos.agents.diiqn.samples import ExpertSamples
from algos.algorithms import HADIIQNConfig
from algos.envs import termination_is_success
from algos.training.replay import Batch, UniformReplay
from algos.training.tally import Tally


@dataclass(frozen=True)
class Bridge:
    """The first transition of a bridge and its shape."""

    slot: int  # replay slot of the first transition (at the time of the search)
    length: int  # agent transitions in the bridge
    rejoin: int  # j: it reaches the expert's state t + j


@dataclass
class _Edge:
    """The stored transitions from one state to one other: their slots per action, in the order
    they were written, and how many of them terminated their episode."""

    slots: dict[int, dict[int, None]] = field(default_factory=dict)
    ends: int = 0


class ReplayGraph:
    """The replay as a graph, hashed: state -> the states one stored transition reaches from it
    -> the slots of those transitions per action; and per state, how often each action was
    stored from it. Kept up to date as slots are written and overwritten, so a search reads a
    node's edges and its first step's likelihoods without touching its slots."""

    def __init__(self, replay: UniformReplay):
        self.replay = replay
        self.edges: dict[bytes, dict[bytes, _Edge]] = {}
        self.tries: dict[bytes, Counter[int]] = {}
        self._key: dict[int, tuple[bytes, bytes, int, bool]] = {}

    def add(self, slot: int) -> None:
        """Register ``slot`` after the replay wrote it (unregistering what it held before)."""
        old = self._key.pop(slot, None)
        if old is not None:
            self._remove(slot, *old)
        replay = self.replay
        key = (replay.states[slot].tobytes(), replay.next_states[slot].tobytes(),
               int(replay.actions[slot]), bool(replay.dones[slot]))
        start, reached, action, ended = key
        edge = self.edges.setdefault(start, {}).setdefault(reached, _Edge())
        edge.slots.setdefault(action, {})[slot] = None
        edge.ends += ended
        self.tries.setdefault(start, Counter())[action] += 1
        self._key[slot] = key

    def _remove(self, slot: int, start: bytes, reached: bytes, action: int, ended: bool) -> None:
        edges = self.edges[start]
        edge = edges[reached]
        del edge.slots[action][slot]
        if not edge.slots[action]:
            del edge.slots[action]
        edge.ends -= ended
        if not edge.slots:
            del edges[reached]
            if not edges:
                del self.edges[start]
        self.tries[start][action] -= 1
        if not self.tries[start][action]:
            del self.tries[start][action]
            if not self.tries[start]:
                del self.tries[start]

    def out_edges(self, state: bytes) -> list[tuple[bytes, bool]]:
        """``(reached state, whether a transition to it terminated)`` for each distinct state
        one stored transition reaches from ``state``, in byte order."""
        return sorted((reached, edge.ends > 0)
                      for reached, edge in self.edges.get(state, {}).items())

    def first_step(self, start: bytes, reached: bytes) -> int:
        """The slot a bridge's first step copies (see ``most_likely_action``): of the transitions
        ``start -> reached`` with the most likely action, the oldest."""
        edge = self.edges[start][reached]
        counts = {action: len(slots) for action, slots in edge.slots.items()}
        return next(iter(edge.slots[most_likely_action(counts, self.tries[start])]))


def most_likely_action(hits: dict[int, int], tries: dict[int, int]) -> int:
    """The action most likely to make a move: the highest share of that action's transitions
    from the state that made it (the empirical P(reached | state, action)), then the lower
    action. With sticky actions the stored (chosen) action of a single transition may not be
    the one that moved the agent."""
    return max(hits, key=lambda a: (hits[a] / tries[a], -a))


EPISODE_END = b""
"""Bridge target standing for the end of the expert's episode (no packed state is empty)."""


def _bfs(start: bytes, targets: dict[bytes, int], max_steps: int,
         out_edges) -> tuple[bytes, int, int] | None:
    """Breadth-first search from ``start`` for the shortest path (then the earliest rejoin, then
    the first in the edges' byte order) to a state in ``targets`` (state bytes -> rejoin j;
    ``EPISODE_END`` is reached by a transition that terminated its episode). ``out_edges(state)``
    lists ``(reached, terminated)`` per distinct reached state, in byte order. Returns the state
    the path's first step reaches, its length and j."""
    frontier: list[tuple[bytes, bytes | None]] = [(start, None)]
    seen = {start}
    end = targets.get(EPISODE_END)
    for depth in range(1, max_steps + 1):
        found: tuple[bytes, int, int] | None = None
        following: list[tuple[bytes, bytes | None]] = []
        for state, first in frontier:
            for reached, terminated in out_edges(state):
                first_step = reached if first is None else first
                j = targets.get(reached)
                if end is not None and terminated and (j is None or end < j):
                    j = end
                if j is not None and (found is None or j < found[2]):
                    found = (first_step, depth, j)
                if reached not in seen:
                    seen.add(reached)
                    following.append((reached, first_step))
        if found is not None:
            return found
        frontier = following
    return None


def indexed_bridge(graph: ReplayGraph, start: bytes, targets: dict[bytes, int],
                   max_steps: int) -> Bridge | None:
    """The bridge search with the hashed graph: a node's distinct edges in one lookup."""
    found = _bfs(start, targets, max_steps, graph.out_edges)
    if found is None:
        return None
    first, length, rejoin = found
    return Bridge(graph.first_step(start, first), length, rejoin)


def brute_force_bridge(replay: UniformReplay, start: bytes, targets: dict[bytes, int],
                       max_steps: int) -> Bridge | None:
    """The same search, finding each node's edges by scanning every stored transition."""
    states = replay.states[: replay.size]

    def scan(state: bytes) -> list[tuple[int, int, bytes]]:
        row = np.frombuffer(state, dtype=np.uint8)
        return [(slot, int(replay.actions[slot]), replay.next_states[slot].tobytes())
                for slot in np.flatnonzero((states == row).all(axis=1)).tolist()]

    def out_edges(state: bytes) -> list[tuple[bytes, bool]]:
        ends: dict[bytes, bool] = {}
        for slot, _, reached in scan(state):
            ends[reached] = ends.get(reached, False) or bool(replay.dones[slot])
        return sorted(ends.items())

    found = _bfs(start, targets, max_steps, out_edges)
    if found is None:
        return None
    first, length, rejoin = found
    transitions = scan(start)
    tries = Counter(action for _, action, _ in transitions)
    hits = Counter(action for _, action, reached in transitions if reached == first)
    action = most_likely_action(hits, tries)

    def age(slot: int) -> int:  # 0 for the oldest slot of the ring buffer
        return (slot - replay.cursor) % replay.capacity

    slot = min((s for s, a, reached in transitions if a == action and reached == first), key=age)
    return Bridge(slot, length, rejoin)


class HADIIQNAgent(DIIQNAgent):
    """DIIQN whose infeasible expert samples are replaced by the first step of a bridge."""

    def __init__(self, config: HADIIQNConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.graph = ReplayGraph(self.replay)
        # Whether an expert episode's termination is worth rejoining (a maze's goal), not a
        # failure (a MinAtar life lost).
        self.end_is_goal = termination_is_success(self.dataset.game)
        # (start, targets) -> (update of the search, first step of its bridge or None).
        self.bridges: dict[tuple, tuple[int, tuple | None]] = {}
        self.bridge_tally = Tally("infeasible", "samples", "attempts", "hits", "length",
                                  "seconds", "cached")

    def stored(self, slot: int) -> None:
        self.graph.add(slot)

    def targets(self, expert: int) -> dict[bytes, int]:
        """The expert's next ``n`` states after transition ``expert`` (``s_e^(t+j) =
        next_states[e + j - 1]`` while in its episode), as bridge targets, and ``EPISODE_END``
        if its episode terminated among them where a termination is the goal: an agent path
        that terminates its own episode there rejoins the expert's at its end (a diagonal agent
        cannot reach the goal point the axis expert reached, but another point of the goal
        cell; without this, the expert's last move was never usable and the agent's step into
        the goal, learnt from its own TD alone, was lost again: docs/algorithms.md).
        In MinAtar a termination is a loss, never a target. A state equal to the start is left
        out: where the expert came back (up, then down), a move that changes nothing would
        "rejoin" it, a bridge that goes nowhere."""
        data, out = self.dataset, {}
        start = data.states[expert].tobytes()
        for j in range(1, self.config.bridge_expert_steps + 1):
            e = expert + j - 1
            if e >= len(data) or data.episodes[e] != data.episodes[expert]:
                break
            state = data.next_states[e].tobytes()
            if state != start:
                out.setdefault(state, j)
            if data.dones[e]:
                if self.end_is_goal:
                    out.setdefault(EPISODE_END, j)
                break
        return out

    def find_bridge(self, start: bytes, targets: dict[bytes, int]) -> Bridge | None:
        k = self.config.bridge_agent_steps
        began = time.perf_counter()
        if self.config.bridge_search == "indexed":
            bridge = indexed_bridge(self.graph, start, targets, k)
        else:
            bridge = brute_force_bridge(self.replay, start, targets, k)
        self.bridge_tally.add(seconds=time.perf_counter() - began)
        return bridge

    def bridge_for(self, expert: int) -> tuple | None:
        """(action, reward, next state, terminated) of the first step of ``expert``'s bridge.
        Cached by what the search depends on, its start and its targets, so expert transitions
        alike up to where their episodes went next share a search, and no others."""
        start = self.dataset.states[expert].tobytes()
        targets = self.targets(expert)
        key = (start, tuple(sorted(targets.items())))
        tally = self.bridge_tally
        cached = self.bridges.get(key)
        if cached is not None:
            found_at, step = cached
            valid_for = (self.config.bridge_refresh if step is not None
                         else self.config.bridge_retry)
            if self.learner.updates - found_at < valid_for:
                tally.add(cached=1)
                return step
        tally.add(attempts=1)
        bridge = self.find_bridge(start, targets)
        step = None
        if bridge is not None:
            replay, slot = self.replay, bridge.slot
            step = (int(replay.actions[slot]), float(replay.rewards[slot]),
                    replay.next_states[slot].copy(), float(replay.dones[slot]))
            tally.add(hits=1, length=bridge.length)
        self.bridges[key] = (self.learner.updates, step)
        return step

    def expert_samples(self, batch: Batch) -> ExpertSamples:
        expert = super().expert_samples(batch)
        infeasible = np.flatnonzero(expert.errors > self.config.infeasible_error)
        self.bridge_tally.add(samples=len(expert.rows), infeasible=len(infeasible))
        if not len(infeasible):
            return expert
        keep = np.ones(len(expert.rows), dtype=bool)
        for i in infeasible:
            step = self.bridge_for(int(expert.experts[i]))
            if step is None:
                keep[i] = False  # no bridge: no expert loss for this sample
                continue
            expert.actions[i], expert.rewards[i], expert.next_states[i], expert.dones[i] = step
            expert.discounts[i] = self.config.gamma  # one agent step
            expert.errors[i] = 0.0  # ζ = 1: the bridge's first action was really taken
        return expert.kept(keep)

    def take_diagnostics(self) -> dict[str, float]:
        out = super().take_diagnostics()
        t = self.bridge_tally
        out.update({
            "infeasible_share": t.ratio("infeasible", "samples"),
            "bridge_attempts": t["attempts"],
            "bridge_hits": t["hits"],
            "bridge_cache_uses": t["cached"],
            "bridge_length_mean": t.ratio("length", "hits"),
            "bridge_search_ms": 1000 * t.ratio("seconds", "attempts"),
        })
        t.restart()
        return out

    def state_dict(self) -> dict:
        # The graph is rebuilt from the replay on load; the cache and counters are kept.
        return {**super().state_dict(), "bridges": self.bridges,
                "bridge_tally": self.bridge_tally.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.graph = ReplayGraph(self.replay)
        replay = self.replay
        oldest = replay.cursor if replay.size == replay.capacity else 0
        for age in range(replay.size):  # in the order they were written, as the graph saw them
            self.graph.add((oldest + age) % replay.capacity)
        self.bridges = dict(state["bridges"])
        self.bridge_tally.load_state_dict(state["bridge_tally"])
