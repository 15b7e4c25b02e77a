"""The bottom-top-bottom network (BTBNet) and its multi-stream form.

Zhao et al., "Defocus Blur Detection via Multi-Stream Bottom-Top-Bottom Fully Convolutional Network",
CVPR 2018, and the extended version with a DBD map and a loss at every feedback step, Zhao et al.,
"Defocus Blur Detection via Multi-Stream Bottom-Top-Bottom Network", IEEE TPAMI 2020.

One stream (our reading of the papers' description):

- bottom-top: the VGG16 convolutional blocks conv1..conv5 without pooling (:mod:`.vgg`), so all
  features keep the input resolution;
- top-bottom: four feedback steps. Step k fuses the feedback feature ``t`` (conv5 output for k = 1,
  the previous step's fusion afterwards) with the forward feature of block 5 - k (conv4, conv3, conv2,
  conv1). Before the fusion an extra 3x3 convolution + ReLU is applied on both streams, mapping both
  to the channel count of the forward block; the fusion is element-wise addition;
- a 1x1 convolution at every step turns the fused feature into a one-channel DBD map (a logit; the
  in-focus probability is its sigmoid), and every step's map is supervised (TPAMI version; the CVPR
  version has the 1x1 convolution at the last step only).

Multi-stream: the image is resized to the scales 1, 0.8 and 0.6 and each scale goes through its own
stream (separate parameters, as the papers draw three BTBNets). Resizing is bilinear.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dbdbench.baselines.deep.vgg import VGGBackbone, conv_relu


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of an (N, C, H, W) tensor to ``size`` = (H', W'); identity when equal.

    Downsampling is antialiased (area-like), upsampling is plain bilinear; ``align_corners=False``.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    down = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=down)


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """The size of a stream at ``scale``: rounded, at least 1 pixel.

    ``int()`` also takes the 0-d tensors that sizes are while tracing (``dbdbench export``); the
    traced model then has this input size built in.
    """
    return max(1, round(int(height) * scale)), max(1, round(int(width) * scale))


class VGGFCNet(nn.Module):
    """The ablation baseline: VGG16 without FC and pooling, a 1x1 convolution on conv5 to the map."""

    def __init__(self, blocks):
        super().__init__()
        self.backbone = VGGBackbone(blocks)
        self.head = nn.Conv2d(self.backbone.block_channels[-1], 1, 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.head(self.backbone(x)[-1])]


class BTBNet(nn.Module):
    """One bottom-top-bottom stream.

    Parameters
    ----------
    blocks : tuple of tuple of int
        VGG16 channel counts (see :func:`dbdbench.baselines.deep.vgg.scaled_blocks`).

    Notes
    -----
    ``forward(x)`` takes an RGB batch (N, 3, H, W) in [0, 1] and returns four logit maps, one per
    feedback step (fusion with conv4, conv3, conv2, conv1), each (N, 1, H, W); the last is the stream's
    DBD map.
    """

    def __init__(self, blocks):
        super().__init__()
        self.backbone = VGGBackbone(blocks)
        chans = self.backbone.block_channels
        self.feedback = nn.ModuleList()
        self.lateral = nn.ModuleList()
        self.heads = nn.ModuleList()
        top = chans[4]
        for level in (3, 2, 1, 0):
            c = chans[level]
            self.feedback.append(conv_relu(top, c))
            self.lateral.append(conv_relu(c, c))
            self.heads.append(nn.Conv2d(c, 1, 1))
            top = c

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = self.backbone(x)
        t = feats[4]
        maps = []
        for k, level in enumerate((3, 2, 1, 0)):
            t = self.feedback[k](t) + self.lateral[k](feats[level])
            maps.append(self.heads[k](t))
        return maps


class MultiStream(nn.Module):
    """BTBNet streams on resized copies of the input.

    Parameters
    ----------
    blocks : tuple of tuple of int
        VGG16 channel counts of every stream.
    scales : tuple of float
        One stream per scale; scale 1 gets the input unchanged.

    Notes
    -----
    ``forward(x)`` returns ``(images, maps)``: per stream the resized image (N, 3, h_s, w_s) and the
    list of its four step logits (N, 1, h_s, w_s).
    """

    def __init__(self, blocks, scales=(1.0, 0.8, 0.6)):
        super().__init__()
        self.scales = tuple(float(s) for s in scales)
        self.streams = nn.ModuleList(BTBNet(blocks) for _ in self.scales)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        h, w = x.shape[-2:]
        images, maps = [], []
        for scale, stream in zip(self.scales, self.streams, strict=True):
            xs = resize(x, scaled_size(h, w, scale))
            images.append(xs)
            maps.append(stream(xs))
        return images, maps
