"""Baseline defocus blur detectors (``dbdbench predict``).

Python API: :func:`predict_folder` and :func:`predict_paths` write one map per image;
:func:`~dbdbench.baselines.registry.get_method` and ``list_methods`` look detectors up.
"""

from dbdbench.baselines.predict import predict_folder, predict_paths, run_detector

__all__ = ["predict_folder", "predict_paths", "run_detector"]
