"""Names of the trainable defocus blur detection models, importable without PyTorch.

The models follow Zhao et al., CVPR 2018 (BTBNet, FRRNet) and Zhao et al., IEEE TPAMI 2020 (BTBCRL,
CRLNet and its ablations); :mod:`dbdbench.baselines.deep.models` builds them.
"""

from __future__ import annotations

CITATION_BTBNET = "Zhao, Zhao, Wang, Lu, CVPR 2018 (BTBNet)"
CITATION_BTBCRL = "Zhao, Zhao, Wang, Lu, IEEE TPAMI 2020 (BTBCRL)"

# name -> (one-line description, citation)
MODELS: dict[str, tuple[str, str]] = {
    "vgg-fc": (
        "VGG16 convolutional layers without FC and pooling layers, 1x1 conv to the map (ablation baseline)",
        CITATION_BTBNET,
    ),
    "btbnet-1s": ("one bottom-top-bottom stream at full resolution", CITATION_BTBNET),
    "btbnet": ("three BTBNet streams at scales 1, 0.8, 0.6, maps averaged", CITATION_BTBNET),
    "btbfrr": ("multi-stream BTBNet + fusion and recurrent reconstruction (FRRNet)", CITATION_BTBNET),
    "btbcrl": ("multi-stream BTBNet + cascaded residual learning (CRLNet), shared steps", CITATION_BTBCRL),
    "btbcrl-unshared": ("BTBCRL with separate parameters at each cascade step", CITATION_BTBCRL),
    "mscrl": ("BTBCRL without the source-image guide (map-only residual steps)", CITATION_BTBCRL),
    "sccrl": ("one full-resolution stream, three residual steps without interpolation", CITATION_BTBCRL),
    "arl": ("multi-stream BTBNet, one residual step per scale, outputs averaged (ARLNet)", CITATION_BTBCRL),
}

PRESET_NAMES = ("tiny", "paper")
#: What ``dbdbench train --freeze`` can fix.
FREEZE_PARTS = ("none", "backbone", "btbnet")
#: ``--precision`` choices: float32, or autocast to bfloat16 / float16 (float16 with loss scaling, CUDA).
PRECISIONS = ("fp32", "bf16", "fp16")
