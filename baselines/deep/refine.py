"""Refinement networks on top of the BTBNet streams: FRRNet, CRLNet and its ablations (ARL, SCCRL).

- FRRNet, Zhao et al., CVPR 2018: a fusion network (FNet) merges the stream maps, brought to full
  resolution, with the source image; a recurrent reconstruction network (RRNet) then refines the fused
  map several times with the same parameters, each time from the current map and the image.
- CRLNet, Zhao et al., IEEE TPAMI 2020 (BTBCRL): a cascade of residual steps from the smallest scale
  to full resolution. At each scale the stream's DBD map and the image at that scale are concatenated
  (4 channels) and passed through convolution + ReLU layers that learn a residual. The previous step's
  output map is added at the tail of the next step and its residue at the middle, after bilinear
  interpolation to the next scale, so each step only learns what the coarser scale missed.

Our reading where the papers leave details open (documented in docs/deep.md):

- A residual step is ``head`` (3x3 conv + ReLU) -> ``body`` (``depth`` x (3x3 conv + ReLU)) -> ``tail``
  (3x3 conv to one channel). The "residue" passed to the middle of the next step is the feature entering
  the tail (``width`` channels); it is added to the next step's head output. The "output map" is added
  to the tail output.
- TPAMI: "For step 1, the RLNet refines the full DBD map. Then, the other steps learn the residual map
  with shared parameters." Step 1 has its own RLNet, which refines the smallest stream's map (its
  output is that map plus the tail, so the untrained step passes the map through); steps 2..n share
  one RLNet (``btbcrl``) or have one each (``btbcrl-unshared``).
- Maps are carried as logits; the network inputs are their sigmoid (in-focus probability in [0, 1]).
- The tail convolution starts at zero, so an untrained cascade returns the BTBNet map unchanged.
- FNet and RRNet use the same conv + ReLU stack as a residual step but predict the map directly;
  RRNet runs ``steps`` times with shared parameters.
- ARL (TPAMI ablation "ARLNet"): one residual step per scale without the cascade links; the refined
  maps are brought to full resolution and averaged.
- SCCRL (single scale): one full-resolution stream and the same number of residual steps, all at full
  resolution, so no interpolation happens.
- MSCRL: CRLNet without the source image as guide (1-channel input).
"""

from __future__ import annotations

import torch
from torch import nn

from dbdbench.baselines.deep.btbnet import resize
from dbdbench.baselines.deep.vgg import conv_relu


class ConvStack(nn.Module):
    """``head`` conv + ReLU, ``depth`` conv + ReLU layers, a 3x3 ``tail`` conv to one channel.

    Parameters
    ----------
    in_channels : int
        Input channels (maps and, with a guide, 3 image channels).
    width : int
        Channels of the hidden layers.
    depth : int
        Hidden conv + ReLU layers after the head.
    zero_tail : bool
        Start the tail at zero (residual steps).
    """

    def __init__(self, in_channels: int, width: int, depth: int, zero_tail: bool = False):
        super().__init__()
        self.head = conv_relu(in_channels, width)
        self.body = nn.Sequential(*(conv_relu(width, width) for _ in range(depth)))
        self.tail = nn.Conv2d(width, 1, 3, padding=1)
        if zero_tail:
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor, residue: torch.Tensor | None = None):
        """Return ``(tail output (N, 1, H, W), residue (N, width, H, W))``."""
        h = self.head(x)
        if residue is not None:
            h = h + residue
        feat = self.body(h)
        return self.tail(feat), feat


def _guided(logit: torch.Tensor, image: torch.Tensor | None) -> torch.Tensor:
    prob = torch.sigmoid(logit)
    return prob if image is None else torch.cat([prob, image], dim=1)


class FRRNet(nn.Module):
    """Fusion (FNet) and recurrent reconstruction (RRNet) of the stream maps, CVPR 2018.

    ``forward(image, maps)`` takes the full-resolution image (N, 3, H, W) and one logit map per stream
    (any sizes); it returns ``[fused, refined_1, ..., refined_steps]``, each (N, 1, H, W).
    """

    def __init__(self, n_streams: int, width: int, depth: int, steps: int):
        super().__init__()
        self.fnet = ConvStack(n_streams + 3, width, depth)
        self.rrnet = ConvStack(1 + 3, width, depth)
        self.steps = steps

    def forward(self, image: torch.Tensor, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        size = tuple(image.shape[-2:])
        probs = [torch.sigmoid(resize(m, size)) for m in maps]
        fused, _ = self.fnet(torch.cat([*probs, image], dim=1))
        outs = [fused]
        for _ in range(self.steps):
            refined, _ = self.rrnet(_guided(outs[-1], image))
            outs.append(refined)
        return outs


class CRLNet(nn.Module):
    """Cascaded DBD-map residual learning, TPAMI 2020.

    Parameters
    ----------
    n_steps : int
        Cascade steps (one per stream, at least 1; the TPAMI ablations use 1, 2 and 3).
    width, depth : int
        Size of each step's RLNet (:class:`ConvStack`).
    shared : bool
        The residual steps 2..n share one set of parameters (BTBCRL) or have one each (the unshared
        ablation). Step 1 always has its own RLNet: it refines the full DBD map, the others learn
        residual maps.
    guide : bool
        Concatenate the image with the map (4-channel input); False gives MSCRL.

    Notes
    -----
    ``forward(images, maps)`` takes per step the image (N, 3, h, w) and the stream's logit map
    (N, 1, h, w), ordered from the smallest scale to full resolution, and returns the refined logit
    maps of every step in that order (the last one is the final map).

    Step 1 returns ``map_1 + RLNet_1(map_1, image_1)``: the refined full map (the skip from its input
    map lets the zero-initialised tail pass the stream's map through before training). Step k > 1
    returns ``up(out_{k-1}) + RLNet_k(map_k, image_k; up(residue_{k-1}))``, a residual on the
    interpolated previous output.
    """

    def __init__(self, n_steps: int, width: int, depth: int, shared: bool = True, guide: bool = True):
        super().__init__()
        if n_steps < 1:
            raise ValueError("CRLNet needs at least one cascade step")
        in_ch = 4 if guide else 1
        self.first = ConvStack(in_ch, width, depth, zero_tail=True)
        # one step: RLNet 1 alone refines the only (smallest-scale) map
        n_residual = 0 if n_steps == 1 else 1 if shared else n_steps - 1
        self.residual = nn.ModuleList(
            ConvStack(in_ch, width, depth, zero_tail=True) for _ in range(n_residual)
        )
        self.n_steps = n_steps
        self.guide = guide

    def forward(self, images: list[torch.Tensor], maps: list[torch.Tensor]) -> list[torch.Tensor]:
        x = _guided(maps[0], images[0] if self.guide else None)
        delta, residue = self.first(x)
        out = maps[0] + delta
        outs = [out]
        for k, (image, stream_map) in enumerate(zip(images[1:], maps[1:], strict=True)):
            net = self.residual[k % len(self.residual)]
            size = tuple(stream_map.shape[-2:])
            x = _guided(stream_map, image if self.guide else None)
            delta, residue = net(x, resize(residue, size))
            out = resize(out, size) + delta
            outs.append(out)
        return outs


class ARLNet(nn.Module):
    """One residual step per scale, no cascade; refined maps averaged at full resolution (TPAMI ablation).

    ``forward(images, maps)`` returns the refined map of every scale (at its own size) followed by
    their average at the size of ``images[0]`` (the full-resolution input).
    """

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.net = ConvStack(4, width, depth, zero_tail=True)

    def forward(self, images: list[torch.Tensor], maps: list[torch.Tensor]) -> list[torch.Tensor]:
        size = tuple(images[0].shape[-2:])
        refined = []
        for image, stream_map in zip(images, maps, strict=True):
            delta, _ = self.net(_guided(stream_map, image))
            refined.append(stream_map + delta)
        mean = torch.stack([resize(r, size) for r in refined]).mean(dim=0)
        return [*refined, mean]
