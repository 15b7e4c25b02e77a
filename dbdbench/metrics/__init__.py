"""Evaluation metrics and protocols for defocus blur detection.

Layout: :mod:`~dbdbench.metrics.counts` (one joint histogram of (GT, prediction level) per image),
:mod:`~dbdbench.metrics.curves` (precision, recall, F and E-measure curves from those counts),
:mod:`~dbdbench.metrics.sod` (the PySODMetrics-compatible metrics on arrays: S-measure, weighted
F-measure, E-measure, ...), :mod:`~dbdbench.metrics.resize` (protocol resizing), and one module per
evaluation protocol (:mod:`~dbdbench.metrics.protocol_sod`, ``protocol_hifst``, ``protocol_zhao``,
``protocol_binseg``, ``protocol_ddffnet``), each a subclass of :class:`~dbdbench.metrics.protocol.Protocol`,
listed once in the registry :mod:`~dbdbench.metrics.protocols`.
"""
