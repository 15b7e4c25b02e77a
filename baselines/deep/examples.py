"""A small user-style network for ``dbdbench train --model dbdbench.baselines.deep.examples:SmallNet``.

Not a published model: three 3 x 3 convolutions with a supervised side output, the network of
docs/deep.md's "Comparing your own network", shipped so that the ``torch`` method can be tried (and
tested) without writing a module. It shows the contract a user's network follows: an ``nn.Module``
mapping an RGB batch (N, 3, H, W) in [0, 1] to a list of logit maps (N, 1, H, W), the final one last,
with the optional ``receptive_radius`` (pixels) that lets ``predict`` tile large photos.
"""

from __future__ import annotations

import torch
from torch import nn


class SmallNet(nn.Module):
    """Three 3 x 3 convolutions to a logit map, plus a supervised side output."""

    receptive_radius = 3

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.b = nn.Conv2d(16, 16, 3, padding=1)
        self.side = nn.Conv2d(16, 1, 1)
        self.out = nn.Conv2d(16, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = torch.relu(self.a(x))
        return [self.side(h), self.out(torch.relu(self.b(h)))]
