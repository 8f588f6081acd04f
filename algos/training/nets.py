"""Neural networks. MinAtar's reference Q-network: conv 16@3x3 (stride 1) -> 128 -> |A|.

The convolution is computed as one matrix product over 3x3 patches ("im2col", gathered with a
precomputed index) instead of ``nn.Conv2d``'s kernel: on 10x10 inputs and one CPU thread the
oneDNN kernel spends most of its time in set-up, and its weight-gradient pass costs twice its
forward pass. The patch matrix of the next states is shared by the online and the target
network. The product leaves the feature map position-major, ``(B, 64 positions, 16 channels)``,
and the hidden layer reads it in that order, which saves a transposing copy per pass; so the
hidden layer's weight columns are ordered (position, channel) where ``nn.Conv2d`` + ``flatten``
would order them (channel, position). It is the same function class with the columns permuted:
``to_conv2d_layout`` converts, and ``tests/test_learner.py`` checks the outputs equal those of an
``nn.Conv2d`` network with the converted weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def patch_index(channels: int, grid: int, kernel: int = 3) -> torch.Tensor:
    """Flat indices into a ``(C*grid*grid)`` state of every ``kernel x kernel`` patch.

    Ordered as ``(patch position, channel, row, column)`` so that ``index_select`` followed by a
    view gives the ``(positions, C*k*k)`` patch matrix of each state.
    """
    out = grid - kernel + 1
    c = torch.arange(channels).view(1, 1, channels, 1, 1)
    y = torch.arange(out).view(out, 1, 1, 1, 1)
    x = torch.arange(out).view(1, out, 1, 1, 1)
    i = torch.arange(kernel).view(1, 1, 1, kernel, 1)
    j = torch.arange(kernel).view(1, 1, 1, 1, kernel)
    return (c * grid * grid + (y + i) * grid + (x + j)).reshape(-1)


class QNetwork(nn.Module):
    """The Q-network of MinAtar's ``examples/dqn.py``, for channel-first ``(C, 10, 10)`` inputs."""

    def __init__(self, in_channels: int, n_actions: int, grid: int = 10, hidden: int = 128):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 16, kernel_size=3, stride=1)
        self.positions = (grid - 2) ** 2
        self.fc = nn.Linear(16 * self.positions, hidden)
        self.out = nn.Linear(hidden, n_actions)
        self.register_buffer("index", patch_index(in_channels, grid), persistent=False)
        # Direct references for the hot path: each ``self.fc.weight`` goes through
        # ``nn.Module.__getattr__`` (~0.5 us; 40 lookups per update). The Parameter objects never
        # change identity (loading and optimizer steps write into them), so the tuple stays valid.
        self._weights = (self.conv.weight, self.conv.bias, self.fc.weight, self.fc.bias,
                         self.out.weight, self.out.bias)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` states -> ``(B, positions, C*9)`` patch matrices."""
        flat = torch.index_select(x.reshape(x.shape[0], -1), 1, self.index)
        return flat.view(x.shape[0], self.positions, -1)

    def forward_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """Q-values from patch matrices (see ``patches``)."""
        conv_w, conv_b, fc_w, fc_b, out_w, out_b = self._weights
        batch = patches.shape[0]
        h = torch.addmm(conv_b, patches.reshape(batch * self.positions, -1),
                        conv_w.view(conv_w.shape[0], -1).t())
        h = torch.relu_(h).view(batch, -1)  # (B, positions * 16), position-major
        h = torch.relu_(F.linear(h, fc_w, fc_b))
        return F.linear(h, out_w, out_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_patches(self.patches(x))

    def to_conv2d_layout(self) -> dict[str, torch.Tensor]:
        """This network's weights for the ``nn.Conv2d -> flatten -> Linear`` layout of MinAtar's
        ``examples/dqn.py`` (hidden-layer columns reordered from (position, channel) to
        (channel, position))."""
        state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        hidden = state["fc.weight"].shape[0]
        state["fc.weight"] = (state["fc.weight"].view(hidden, self.positions, 16)
                              .transpose(1, 2).reshape(hidden, -1).contiguous())
        return state
