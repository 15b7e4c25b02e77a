"""BTBNet and BTBCRL defocus blur detectors in PyTorch (optional extra ``deep``).

Zhao, Zhao, Wang, Lu, "Defocus Blur Detection via Multi-Stream Bottom-Top-Bottom Fully Convolutional
Network", CVPR 2018 (BTBNet, with FRRNet refinement), and Zhao, Zhao, Wang, Lu, "Defocus Blur Detection
via Multi-Stream Bottom-Top-Bottom Network", IEEE TPAMI 42(8), 2020 (BTBCRL: BTBNet + CRLNet).

Only :mod:`.catalog` and :mod:`.predictor` import without PyTorch; the other modules need ``torch``.
"""
