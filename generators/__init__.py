"""Simulated defocus data generators (``dbdbench generate-sim``)."""
