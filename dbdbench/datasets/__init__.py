"""Real defocus blur detection datasets: registry, resolving folders, loading, checking, exporting.

Masks are always handed out as float32 in [0, 1] with 1 = in-focus, whatever the polarity on disk.
"""

from dbdbench.datasets.index import DatasetIndex, Sample, read_mask, resolve, te1_names, to_infocus
from dbdbench.datasets.load import LoadedSample, load_dataset
from dbdbench.datasets.registry import DATASETS, DatasetSpec, Layout, SplitSpec, get_spec, list_specs

__all__ = [
    "DATASETS",
    "DatasetIndex",
    "DatasetSpec",
    "Layout",
    "LoadedSample",
    "Sample",
    "SplitSpec",
    "get_spec",
    "list_specs",
    "load_dataset",
    "read_mask",
    "resolve",
    "te1_names",
    "to_infocus",
]
