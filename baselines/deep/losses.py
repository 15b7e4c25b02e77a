"""The training loss of BTBNet / BTBCRL: pixel-wise losses summed over every supervised output.

Zhao et al., CVPR 2018 and IEEE TPAMI 2020 supervise every feedback step of every BTBNet stream, the
fused / refined maps and every residual step of CRLNet, and sum the losses. We use the sigmoid
cross-entropy per pixel (mean over the pixels of each output), the usual pixel-wise loss of these
fully convolutional detectors; the ground truth is resized (antialiased bilinear) to each output's size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dbdbench.baselines.deep.btbnet import resize


def deep_supervision_loss(outputs: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Sum of the binary cross-entropies of every output logit map against the mask.

    Parameters
    ----------
    outputs : list of Tensor, each (N, 1, h, w)
        Logit maps (any sizes).
    target : Tensor, (N, 1, H, W), float32 in [0, 1]
        In-focus mask (1 = in focus); soft values are allowed.

    Returns
    -------
    Tensor
        Scalar loss.
    """
    total = target.new_zeros(())
    for out in outputs:
        t = resize(target, tuple(out.shape[-2:])).clamp(0.0, 1.0)
        total = total + F.binary_cross_entropy_with_logits(out, t)
    return total
