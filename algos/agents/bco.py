"""BCO: Behavioral Cloning from Observation (Torabi, Warnell & Stone 2018), online, on the loop.

The expert's dataset has states only. BCO learns an inverse-dynamics model (IDM)
``p(a | s, s')`` from the agent's own transitions, labels each expert pair ``(s_e, s'_e)`` with
the IDM's most likely action, and behaviour-clones a policy on those labels.

The paper runs it in phases: ``|I_pre|`` steps of random interaction, fit the IDM, label, clone;
BCO(α) then alternates ``α |I_pre|`` more steps with the cloned policy, refitting both. Here the
phases run continuously inside the shared loop: the first ``replay_start`` steps act uniformly at
random (``I_pre``), and every later step (a) acts with the cloned policy (epsilon-greedy by the
loop's schedule), (b) takes one IDM step on a batch of the agent's transitions and (c) one
cloning step on a batch of expert pairs labelled by the current IDM (no stored labels to go
stale). ``refit_idm=false`` freezes the IDM's data at the random pre-demonstration phase
(BCO(0)). Both networks are MinAtar's Q-network architecture used as a classifier (the IDM reads
``s`` and ``s'`` stacked along the channels), trained with cross-entropy and centered RMSprop.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from algos.algorithms import BCOConfig
from algos.data.datasets import InferenceScorer, StateOnlyDataset
from algos.envs import packed_size
from algos.seeds import Stream, child_seed
from algos.training.learner import CenteredRMSprop, DivergenceError, StateDecoder
from algos.training.nets import QNetwork
from algos.training.replay import UniformReplay
from algos.training.tally import Tally

SCORED_PAIRS = 4096  # expert pairs whose IDM labels are scored against the hidden actions


class BCOAgent:
    """Inverse-dynamics model + behaviour-cloned policy, acting greedily on the policy."""


    def __init__(self, config: BCOConfig, state_shape: tuple[int, int, int], n_actions: int,
                 seed: int, total_steps: int, *, dataset: StateOnlyDataset,
                 scorer: InferenceScorer | None = None):
        dataset.require_state_shape(state_shape)
        self.config, self.n_actions, self.dataset, self.scorer = config, n_actions, dataset, scorer
        torch.manual_seed(child_seed(seed, Stream.TORCH))
        channels, grid = state_shape[0], state_shape[1]
        self.policy = QNetwork(channels, n_actions, grid=grid)
        self.idm = QNetwork(2 * channels, n_actions, grid=grid)
        self.policy_opt = CenteredRMSprop(self.policy.parameters(), lr=config.lr,
                                          alpha=config.rms_alpha, eps=config.rms_eps)
        self.idm_opt = CenteredRMSprop(self.idm.parameters(), lr=config.lr,
                                       alpha=config.rms_alpha, eps=config.rms_eps)
        self.replay = UniformReplay(config.replay_capacity, packed_size(state_shape),
                                    child_seed(seed, Stream.REPLAY))
        self.rng = np.random.default_rng(child_seed(seed, Stream.EXPERT_BATCHES))
        self.decode = StateDecoder(state_shape, max_rows=2 * config.batch_size)
        self.scored = np.sort(self.rng.choice(len(dataset), min(SCORED_PAIRS, len(dataset)),
                                              replace=False))
        self.updates = 0
        self.tally = Tally("samples", "idm_correct", "idm_loss", "bc_loss", "bc_agree")

    def greedy_action(self, obs: np.ndarray) -> int:
        with torch.inference_mode():
            return int(self.policy(self.decode.observation(obs)).argmax(dim=1)[0])

    def observe(self, state, action, reward, next_state, terminated, step) -> None:
        if self.config.refit_idm or step < self.config.replay_start:
            self.replay.add(state, action, reward, next_state, terminated)

    def idm_logits(self, states: np.ndarray, next_states: np.ndarray) -> torch.Tensor:
        """IDM logits for packed pairs: ``s`` and ``s'`` stacked along the channel axis."""
        return self.idm(self.decode.pairs(states, next_states))

    def update(self, step: int) -> float:
        loss = self.update_idm() + self.update_policy()
        self.updates += 1
        return loss

    def update_idm(self) -> float:
        """One IDM step on a batch of the agent's own transitions (whose actions it knows)."""
        batch = self.replay.sample(self.config.batch_size)
        actions = torch.from_numpy(batch.actions)
        logits = self.idm_logits(batch.states, batch.next_states)
        loss = F.cross_entropy(logits, actions)
        self._step(self.idm_opt, loss)
        with torch.no_grad():
            self.tally.add(samples=len(actions), idm_loss=loss.item() * len(actions),
                           idm_correct=(logits.argmax(dim=1) == actions).sum())
        return loss.item()

    def update_policy(self) -> float:
        """Label a batch of expert pairs with the IDM as it is now, then one cloning step."""
        expert = self.rng.integers(0, len(self.dataset), size=self.config.batch_size)
        with torch.no_grad():
            labels = self.idm_logits(self.dataset.states[expert],
                                     self.dataset.next_states[expert]).argmax(dim=1)
        logits = self.policy(self.decode(self.dataset.states[expert]))
        loss = F.cross_entropy(logits, labels)
        self._step(self.policy_opt, loss)
        with torch.no_grad():
            self.tally.add(bc_agree=(logits.argmax(dim=1) == labels).sum(),
                           bc_loss=loss.item() * len(labels))
        return loss.item()

    def _step(self, optimizer: CenteredRMSprop, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss):
            raise DivergenceError(f"the loss became {float(loss)} at update {self.updates + 1}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def expert_labels(self, indices: np.ndarray) -> np.ndarray:
        """The IDM's action for expert pairs ``indices`` (agent action indices)."""
        labels = []
        with torch.inference_mode():
            for start in range(0, len(indices), self.config.batch_size):
                chunk = indices[start: start + self.config.batch_size]
                labels.append(self.idm_logits(self.dataset.states[chunk],
                                              self.dataset.next_states[chunk]).argmax(dim=1))
        return torch.cat(labels).numpy()

    def idm_expert_scores(self) -> dict[str, float]:
        """The IDM's labels of the scored expert pairs against the hidden true actions: the
        share that is the executed action, and the share with the executed action's effect."""
        labelled = np.full(len(self.dataset), -1, dtype=np.int64)
        labelled[self.scored] = self.expert_labels(self.scored)
        scores = self.scorer(labelled)
        return {"idm_expert_accuracy": scores["inference_accuracy"],
                "idm_expert_effect_accuracy": scores["inference_effect_accuracy"]}

    def take_diagnostics(self) -> dict[str, float]:
        """The diagnostics since the last call (which starts a new interval)."""
        t = self.tally
        out = {"replay_size": len(self.replay),
               "idm_train_accuracy": t.ratio("idm_correct", "samples"),
               "idm_loss": t.ratio("idm_loss", "samples"),
               "bc_loss": t.ratio("bc_loss", "samples"),
               "bc_agreement": t.ratio("bc_agree", "samples")}
        if self.scorer is not None and self.updates:
            out.update(self.idm_expert_scores())
        t.restart()
        return out

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "idm": self.idm.state_dict(),
                "policy_opt": self.policy_opt.state_dict(), "idm_opt": self.idm_opt.state_dict(),
                "replay": self.replay.state_dict(), "rng": self.rng.bit_generator.state,
                "updates": self.updates, "tally": self.tally.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.idm.load_state_dict(state["idm"])
        self.policy_opt.load_state_dict(state["policy_opt"])
        self.idm_opt.load_state_dict(state["idm_opt"])
        self.replay.load_state_dict(state["replay"])
        self.rng.bit_generator.state = state["rng"]
        self.updates = int(state["updates"])
        self.tally.load_state_dict(state["tally"])
