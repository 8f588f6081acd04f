"""The one Q-learning update, shared by every Q-learning method of the suite.

``QLearner`` owns the online and target networks and the optimizer. A method computes a
per-sample loss with ``td_loss`` (Huber on the Double-DQN or plain DQN target), combines it as it
needs (PER weights for DQN, the confidence Φ for DIIQN) and hands the scalar to ``apply``, which
steps the optimizer and syncs the target network every ``target_update_every`` updates.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from algos.envs import packed_size
from algos.errors import RunFailure
from algos.training.nets import QNetwork


class DivergenceError(RunFailure, RuntimeError):
    """The loss became NaN or infinite."""

    def __str__(self) -> str:
        return f"training diverged: {super().__str__()} (try a smaller lr)"


def q_targets(q_next_online: torch.Tensor | None, q_next_target: torch.Tensor,
              rewards: torch.Tensor, dones: torch.Tensor,
              gamma: float | torch.Tensor) -> torch.Tensor:
    """Bootstrapped targets ``r + gamma (1 - done) Q_target(s', a')`` (``gamma`` a number, or
    per sample: γ^n for a target that spans n steps).

    Double DQN (van Hasselt et al. 2016) when ``q_next_online`` is given: the online network
    chooses ``a' = argmax_a Q_online(s', a)`` and the target network evaluates it. Plain DQN when it
    is ``None``: ``a' = argmax_a Q_target(s', a)``.
    """
    if q_next_online is None:
        next_values = q_next_target.max(dim=1).values
    else:
        best = q_next_online.argmax(dim=1, keepdim=True)
        next_values = q_next_target.gather(1, best).squeeze(1)
    return rewards + gamma * (1.0 - dones) * next_values


class TDLoss(NamedTuple):
    """What ``QLearner.td_loss`` returns for a batch."""

    loss: torch.Tensor
    """Per-sample Huber TD loss, with gradient."""
    td: torch.Tensor
    """Per-sample TD errors ``target - Q(s, a)``, detached."""
    q: torch.Tensor
    """The online network's Q-values of every action at ``s`` (``(B, |A|)``), with gradient
    (a loss on them, such as DQfD's large margin, trains the network; ``.detach()`` for values)."""


class CenteredRMSprop:
    """Centered RMSprop (Graves 2013), as ``torch.optim.RMSprop(centered=True)`` computes it.

    The same arithmetic in the same order (``tests/test_learner.py`` checks that the parameters
    stay equal to torch's over many steps), rearranged for a small network on one CPU thread:

    * The parameters and their gradients are moved into one flat buffer each (the parameters
      become views into it), so one step is seven tensor operations in all instead of seven per
      parameter, and zeroing the gradients is one ``zero_``.
    * No ``torch.optim.Optimizer``: constructing one imports ``torch._dynamo`` (about 70 MB of
      resident memory per process), and its ``step`` spends more time in Python bookkeeping than
      in arithmetic here.
    * The intermediate ``sqrt(v - g_avg^2) + eps`` goes into a reused buffer instead of a fresh
      tensor the size of the whole network every step.
    * The square root is taken by numpy on a view of that buffer: on these arrays (a sixth of
      them exactly zero, from units that receive no gradient) torch's CPU ``sqrt_`` was the
      largest single cost of the update (docs/performance.md). Both round correctly, so the
      result is the same.
    """

    def __init__(self, params, lr: float, alpha: float, eps: float):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.alpha, self.eps = lr, alpha, eps
        total = sum(p.numel() for p in self.params)
        self.flat_params = torch.zeros(total)
        self.flat_grads = torch.zeros(total)
        offset = 0
        for p in self.params:
            size = p.numel()
            view = self.flat_params[offset: offset + size].view_as(p)
            view.copy_(p.detach())
            p.data = view
            # Autograd accumulates into an existing .grad in place, so gradients land here.
            p.grad = self.flat_grads[offset: offset + size].view_as(p)
            offset += size
        self.square_avg = torch.zeros(total)
        self.grad_avg = torch.zeros(total)
        self._denom = torch.empty(total)
        self._denom_np = self._denom.numpy()  # a view of the same memory
        self.steps = 0

    def zero_grad(self) -> None:
        self.flat_grads.zero_()

    @torch.no_grad()
    def step(self) -> None:
        grad, square_avg, grad_avg, denom = (self.flat_grads, self.square_avg, self.grad_avg,
                                             self._denom)
        square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
        grad_avg.lerp_(grad, 1 - self.alpha)
        torch.addcmul(square_avg, grad_avg, grad_avg, value=-1, out=denom)
        # v >= g_avg^2 holds exactly but not always after rounding: a last-bit negative would
        # be a NaN parameter (torch's RMSprop has that flaw). Elsewhere this changes nothing.
        np.maximum(self._denom_np, 0.0, out=self._denom_np)
        np.sqrt(self._denom_np, out=self._denom_np)  # see the class docstring
        denom.add_(self.eps)
        self.flat_params.addcdiv_(grad, denom, value=-self.lr)
        self.steps += 1

    def state_dict(self) -> dict:
        return {"square_avg": self.square_avg.clone(), "grad_avg": self.grad_avg.clone(),
                "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.square_avg.copy_(state["square_avg"])
        self.grad_avg.copy_(state["grad_avg"])
        self.steps = int(state["steps"])


def configure_torch(threads: int) -> None:
    """Process-wide torch settings for training: thread count, and flushing denormal floats.

    RMSprop's running averages of parameters that stop receiving gradient (dead units) decay
    geometrically into the denormal range, where every x86 arithmetic operation is many times
    slower; values below 1e-38 carry no information here, so they are flushed to zero.
    """
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)


class StateDecoder:
    """Bit-packed uint8 states -> float32 tensors, into buffers reused across calls.

    ``torch.from_numpy`` views share memory with the numpy buffer, so filling the buffer fills the
    tensor without a host-to-tensor copy or a new allocation per step.
    """

    def __init__(self, state_shape: tuple[int, int, int], max_rows: int):
        self.state_shape = state_shape
        self.n_bits = int(np.prod(state_shape))
        self.nbytes = packed_size(state_shape)
        self._buffer = torch.zeros((max_rows, *state_shape), dtype=torch.float32)
        self._view = self._buffer.numpy().reshape(max_rows, self.n_bits)

    def __call__(self, *packed: np.ndarray) -> torch.Tensor:
        """Decode one or more packed arrays, stacked along the batch axis, into one tensor."""
        row = 0
        for block in packed:
            bits = np.unpackbits(block, axis=-1, count=self.n_bits)
            self._view[row: row + len(block)] = bits
            row += len(block)
        return self._buffer[:row]

    def pairs(self, states: np.ndarray, next_states: np.ndarray) -> torch.Tensor:
        """Packed pairs ``(s, s')`` decoded and stacked along the channel axis, ``(B, 2C, H, W)``:
        the input of models of a transition (BCO's inverse dynamics, GAIfO's discriminator). A
        new tensor, not a view of the reused buffer."""
        decoded = self(states, next_states)
        n = len(states)
        return torch.cat([decoded[:n], decoded[n:]], dim=1)

    def observation(self, obs: np.ndarray) -> torch.Tensor:
        """One bool ``(C, H, W)`` observation as a ``(1, C, H, W)`` tensor."""
        self._view[0] = obs.reshape(-1)
        return self._buffer[:1]


class QLearner:
    """Online and target Q-networks, centered RMSprop, and the (Double-)DQN TD loss.

    Args:
        network: the online network; the target network starts as its copy.
        gamma: discount.
        lr, rms_alpha, rms_eps: centered RMSprop (MinAtar: 2.5e-4, 0.95, 0.01).
        target_update_every: copy online -> target every this many updates.
        double: Double-DQN targets (else plain DQN's max over the target network).
        huber_delta: the Huber loss's switch from squared to absolute error.
        grad_clip: clip the gradient norm to this value (0 switches clipping off).
    """

    def __init__(self, network: QNetwork, gamma: float, lr: float, rms_alpha: float,
                 rms_eps: float, target_update_every: int, double: bool, huber_delta: float = 1.0,
                 grad_clip: float = 0.0):
        self.online = network
        self.optimizer = CenteredRMSprop(network.parameters(), lr=lr, alpha=rms_alpha, eps=rms_eps)
        self.target = copy.deepcopy(network)
        self.target.requires_grad_(False)
        for p in self.target.parameters():
            p.grad = None
        self.gamma = gamma
        self.double = double
        self.huber_delta = huber_delta
        self.grad_clip = grad_clip
        self.target_update_every = target_update_every
        self.updates = 0

    def td_loss(self, states: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                next_states: torch.Tensor, dones: torch.Tensor,
                state_rows: torch.Tensor | None = None,
                discounts: torch.Tensor | None = None) -> TDLoss:
        """Per-sample Huber TD loss (with grad), TD errors and Q-values at the samples' states.

        ``state_rows``, if given, maps each sample to its row of ``states``, so samples that
        start at the same state share one forward pass (DIIQN's exact expert matches).
        ``discounts``, if given, replaces γ per sample (multi-step targets: ``rewards`` then
        hold the discounted sums).
        """
        q = self.online(states)
        if state_rows is not None:
            q = q[state_rows]
        with torch.no_grad():
            # No-grad passes over s', kept apart from the pass over s so that the backward pass
            # does not compute (zero) gradients for their rows; the online and the target
            # network share the patch matrix of s'.
            next_patches = self.online.patches(next_states)
            q_next_online = self.online.forward_patches(next_patches) if self.double else None
            q_next_target = self.target.forward_patches(next_patches)
            target = q_targets(q_next_online, q_next_target, rewards, dones,
                               self.gamma if discounts is None else discounts)
        q_taken = q.gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = F.huber_loss(q_taken, target, reduction="none", delta=self.huber_delta)
        return TDLoss(loss, (target - q_taken).detach(), q)

    def apply(self, loss: torch.Tensor) -> float:
        """One optimizer step on a scalar loss; returns its value. Raises on NaN/inf."""
        value = loss.item()
        if not np.isfinite(value):
            raise DivergenceError(f"the loss became {value} at update {self.updates + 1}")
        self.optimizer.zero_grad()
        loss.backward()
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.online.parameters(), self.grad_clip)
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.target_update_every == 0:
            self.sync_target()
        return value

    def sync_target(self) -> None:
        with torch.no_grad():
            for t, o in zip(self.target.parameters(), self.online.parameters(), strict=True):
                t.copy_(o)

    @torch.inference_mode()
    def greedy_action(self, state: torch.Tensor) -> int:
        return int(self.online(state).argmax(dim=1)[0])

    def state_dict(self) -> dict:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])
