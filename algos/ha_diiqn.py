"""HA-DIIQN: DIIQN for an agent whose actions differ from the expert's (paper.md §2).

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .config import ConfigError
from .diiqn import DIIQNAgent, DIIQNConfig, ExpertSamples
from .replay import Batch, UniformReplay

SEARCHES = ("indexed", "brute_force")


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
    another action) that later play outweighs. A search costs tens of microseconds."""
    bridge_retry: int = 100
    """Search again after this many updates where no bridge was found: early in a run the replay
    lacks the agent's detours, and a sample without a bridge gives no expert loss."""
    bridge_search: str = "indexed"
    """indexed (hash of states -> replay slots) or brute_force (scan the replay; same result)."""

    def validate(self) -> None:
        super().validate()
        if self.bridge_search not in SEARCHES:
            raise ConfigError(f"bridge_search must be one of {', '.join(SEARCHES)}, "
                              f"got {self.bridge_search!r}")
        for name in ("bridge_agent_steps", "bridge_expert_steps", "bridge_refresh",
                     "bridge_retry"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.infeasible_error < 0:
            raise ConfigError(f"infeasible_error must be >= 0, got {self.infeasible_error}")


@dataclass(frozen=True)
class Bridge:
    """The first transition of a bridge and its shape."""

    slot: int  # replay slot of the first transition (at the time of the search)
    length: int  # agent transitions in the bridge
    rejoin: int  # j: it reaches the expert's state t + j


class ReplayGraph:
    """The replay as a graph, hashed: state -> the states one stored transition reaches from it
    -> the replay slots of those transitions."""

    def __init__(self, replay: UniformReplay):
        self.replay = replay
        self.edges: dict[bytes, dict[bytes, set[int]]] = {}
        self._key: dict[int, tuple[bytes, bytes]] = {}

    def add(self, slot: int) -> None:
        """Register ``slot`` after the replay wrote it (unregistering what it held before)."""
        old = self._key.get(slot)
        if old is not None:
            start, reached = old
            slots = self.edges[start][reached]
            slots.discard(slot)
            if not slots:
                del self.edges[start][reached]
                if not self.edges[start]:
                    del self.edges[start]
        key = (self.replay.states[slot].tobytes(), self.replay.next_states[slot].tobytes())
        self.edges.setdefault(key[0], {}).setdefault(key[1], set()).add(slot)
        self._key[slot] = key

    def out_edges(self, state: bytes) -> list[tuple[int, bytes]]:
        """``(lowest slot, reached state)`` for each distinct state reachable in one step,
        ordered by slot."""
        return sorted((min(slots), reached)
                      for reached, slots in self.edges.get(state, {}).items())

    def transitions(self, state: bytes) -> Iterator[tuple[int, int, bytes]]:
        """``(slot, action, reached state)`` of every stored transition out of ``state``."""
        actions = self.replay.actions
        for reached, slots in self.edges.get(state, {}).items():
            for slot in slots:
                yield slot, int(actions[slot]), reached


def most_reliable_slot(transitions: Iterable[tuple[int, int, bytes]], reached: bytes) -> int:
    """Of the stored transitions ``(slot, action, next state)`` out of one state, the slot of one
    that reaches ``reached`` with the action most likely to get there: the highest share of that
    action's transitions from the state (the empirical P(reached | state, action)), then the
    lower action, then the lowest slot. With sticky actions the stored (chosen) action of a
    single transition may not be the one that moved the agent."""
    tries: Counter[int] = Counter()
    hits: dict[int, list[int]] = {}
    for slot, action, state in transitions:
        tries[action] += 1
        if state == reached:
            hits.setdefault(action, []).append(slot)
    action = max(hits, key=lambda a: (len(hits[a]) / tries[a], -a))
    return min(hits[action])


EPISODE_END = b""
"""Bridge target standing for the end of the expert's episode (no packed state is empty)."""


def _bfs(start: bytes, targets: dict[bytes, int], max_steps: int, out_edges,
         dones: np.ndarray) -> tuple[bytes, int, int] | None:
    """Breadth-first search from ``start`` for the shortest path (then the earliest rejoin, then
    the lowest slots) to a state in ``targets`` (state bytes -> rejoin j; ``EPISODE_END`` is
    reached by any transition that ended its episode, ``dones[slot]``). ``out_edges(state)``
    lists ``(slot, reached)`` by slot, one per distinct reached state (its lowest slot). Returns
    the state the path's first step reaches, its length and j."""
    frontier: list[tuple[bytes, bytes | None]] = [(start, None)]
    seen = {start}
    end = targets.get(EPISODE_END)
    for depth in range(1, max_steps + 1):
        found: tuple[bytes, int, int] | None = None
        following: list[tuple[bytes, bytes | None]] = []
        for state, first in frontier:
            for slot, reached in out_edges(state):
                first_step = reached if first is None else first
                j = targets.get(reached)
                if end is not None and dones[slot] and (j is None or end < j):
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
    found = _bfs(start, targets, max_steps, graph.out_edges, graph.replay.dones)
    if found is None:
        return None
    first, length, rejoin = found
    return Bridge(most_reliable_slot(graph.transitions(start), first), length, rejoin)


def brute_force_bridge(replay: UniformReplay, start: bytes, targets: dict[bytes, int],
                       max_steps: int) -> Bridge | None:
    """The same search, finding each node's edges by scanning every stored transition."""
    states = replay.states[: replay.size]

    def scan(state: bytes) -> list[tuple[int, int, bytes]]:
        row = np.frombuffer(state, dtype=np.uint8)
        return [(slot, int(replay.actions[slot]), replay.next_states[slot].tobytes())
                for slot in np.flatnonzero((states == row).all(axis=1)).tolist()]

    def out_edges(state: bytes) -> list[tuple[int, bytes]]:
        edges: dict[bytes, int] = {}
        for slot, _, reached in scan(state):
            edges.setdefault(reached, slot)  # the lowest slot
        return sorted((slot, reached) for reached, slot in edges.items())

    found = _bfs(start, targets, max_steps, out_edges, replay.dones)
    if found is None:
        return None
    first, length, rejoin = found
    return Bridge(most_reliable_slot(scan(start), first), length, rejoin)


class HADIIQNAgent(DIIQNAgent):
    """DIIQN whose infeasible expert samples are replaced by the first step of a bridge."""

    def __init__(self, config: HADIIQNConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.graph = ReplayGraph(self.replay)
        data = self.dataset
        # Expert transition e's later states: s_e^(t+j) = next_states[e + j - 1] while in the
        # same episode.
        self._episodes = data.episodes
        self.bridges: dict[int, tuple[int, tuple | None]] = {}  # distinct -> (update, bridge)
        self._bridge_stats = self._zero_bridge_stats()

    @staticmethod
    def _zero_bridge_stats() -> dict[str, float]:
        return dict.fromkeys(("infeasible", "samples", "attempts", "hits", "length", "seconds",
                              "cached"), 0.0)

    def observe(self, state, action, reward, next_state, done, step) -> None:
        super().observe(state, action, reward, next_state, done, step)
        self.graph.add((self.replay.cursor - 1) % self.replay.capacity)

    def targets(self, expert: int) -> dict[bytes, int]:
        """The expert's next ``n`` states after transition ``expert``, as bridge targets, and
        ``EPISODE_END`` if its episode ended among them: an agent path that ends its own episode
        there rejoins the expert's at its end (a diagonal agent cannot reach the goal point the
        axis expert reached, but another point of the goal cell; without this, the expert's
        last move was never usable and the agent's step into the goal, learnt from its own TD
        alone, was lost again after 16K steps in every seed). A state equal to the start is
        left out: where the expert came back (up, then down), a move that changes nothing would
        "rejoin" it, a bridge that goes nowhere."""
        data, out = self.dataset, {}
        start = data.states[expert].tobytes()
        for j in range(1, self.config.bridge_expert_steps + 1):
            e = expert + j - 1
            if e >= len(data) or self._episodes[e] != self._episodes[expert]:
                break
            state = data.next_states[e].tobytes()
            if state != start:
                out.setdefault(state, j)
            if data.dones[e]:
                out.setdefault(EPISODE_END, j)
                break
        return out

    def find_bridge(self, expert: int) -> Bridge | None:
        start = self.dataset.states[expert].tobytes()
        targets = self.targets(expert)
        k = self.config.bridge_agent_steps
        began = time.perf_counter()
        if self.config.bridge_search == "indexed":
            bridge = indexed_bridge(self.graph, start, targets, k)
        else:
            bridge = brute_force_bridge(self.replay, start, targets, k)
        self._bridge_stats["seconds"] += time.perf_counter() - began
        return bridge

    def bridge_for(self, expert: int, distinct: int) -> tuple | None:
        """(action, reward, next state, done) of the first step of ``expert``'s bridge, cached."""
        stats = self._bridge_stats
        cached = self.bridges.get(distinct)
        if cached is not None:
            found_at, step = cached
            valid_for = (self.config.bridge_refresh if step is not None
                         else self.config.bridge_retry)
            if self.learner.updates - found_at < valid_for:
                stats["cached"] += 1
                return step
        stats["attempts"] += 1
        bridge = self.find_bridge(expert)
        step = None
        if bridge is not None:
            replay, slot = self.replay, bridge.slot
            step = (int(replay.actions[slot]), float(replay.rewards[slot]),
                    replay.next_states[slot].copy(), float(replay.dones[slot]))
            stats["hits"] += 1
            stats["length"] += bridge.length
        self.bridges[distinct] = (self.learner.updates, step)
        return step

    def expert_samples(self, batch: Batch) -> ExpertSamples:
        expert = super().expert_samples(batch)
        stats = self._bridge_stats
        stats["samples"] += len(expert.rows)
        infeasible = np.flatnonzero(expert.errors > self.config.infeasible_error)
        stats["infeasible"] += len(infeasible)
        if not len(infeasible):
            return expert
        keep = np.ones(len(expert.rows), dtype=bool)
        distinct = self.inference.transition_of[expert.experts]
        next_states = expert.next_states.copy()
        for i in infeasible:
            step = self.bridge_for(int(expert.experts[i]), int(distinct[i]))
            if step is None:
                keep[i] = False  # no bridge: no expert loss for this sample
                continue
            expert.actions[i], expert.rewards[i], next_states[i], expert.dones[i] = step
            expert.errors[i] = 0.0  # ζ = 1: the bridge's first action was really taken
        return ExpertSamples(rows=expert.rows[keep], experts=expert.experts[keep],
                             actions=expert.actions[keep], rewards=expert.rewards[keep],
                             next_states=next_states[keep], dones=expert.dones[keep],
                             errors=expert.errors[keep])

    def diagnostics(self) -> dict[str, float]:
        out = super().diagnostics()
        s = self._bridge_stats
        out.update({
            "infeasible_share": s["infeasible"] / s["samples"] if s["samples"] else float("nan"),
            "bridge_attempts": s["attempts"],
            "bridge_hits": s["hits"],
            "bridge_cache_uses": s["cached"],
            "bridge_length_mean": s["length"] / s["hits"] if s["hits"] else float("nan"),
            "bridge_search_ms": 1000 * s["seconds"] / s["attempts"] if s["attempts"]
            else float("nan"),
        })
        self._bridge_stats = self._zero_bridge_stats()
        return out

    def state_dict(self) -> dict:
        # The graph is rebuilt from the replay on load; the cache and counters are kept.
        return {**super().state_dict(), "bridges": self.bridges,
                "bridge_stats": dict(self._bridge_stats)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.graph = ReplayGraph(self.replay)
        for slot in range(len(self.replay)):
            self.graph.add(slot)
        self.bridges = dict(state["bridges"])
        self._bridge_stats = dict(state["bridge_stats"])
