"""Baseline defocus blur detectors (``dbdbench predict``)."""
