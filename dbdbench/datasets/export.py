"""Exporting a dataset canonically: ``image/<name>.<ext>`` + ``gt/<name>.png`` with white = in-focus."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from dbdbench.atomic import temporaries_removed_on_failure, write_bytes_atomic
from dbdbench.datasets.index import Sample, resolve
from dbdbench.errors import DbdError
from dbdbench.executor import run_tasks
from dbdbench.imageio import is_image_file, to_uint8, write_image
from dbdbench.outputs import check_output_folder, claim_outputs, recording, remove_outputs

#: The sub-folders an export writes (and ``overwrite`` empties of what an export wrote there).
PARTS = ("image", "gt")


def _ours(rel: str) -> bool:
    """An export's naming, for a folder exported before manifests: an image file in a part."""
    part, _, name = rel.partition("/")
    return part in PARTS and "/" not in name and is_image_file(Path(name))


def export_sample(sample: Sample, out: Path) -> bool:
    """Write one sample to ``out``: the photo's bytes unchanged (lower-case extension) and the mask
    as an 8-bit PNG with white = in-focus. Returns whether a photo was written."""
    write_image(out / "gt" / f"{sample.name}.png", to_uint8(sample.read_mask()))
    if sample.image_path is None:
        return False
    try:
        data = sample.image_path.read_bytes()
    except OSError as exc:
        raise DbdError(f"cannot read photo '{sample.image_path}': {exc.strerror}") from None
    write_bytes_atomic(out / "image" / f"{sample.name}{sample.image_path.suffix.lower()}", data)
    return True


def export_dataset(
    name: str,
    root: str | os.PathLike,
    out: str | os.PathLike,
    split: str | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> tuple[int, int]:
    """Write a dataset split as ``out/image/`` + ``out/gt/`` with in-focus = white.

    Parameters
    ----------
    name, root, split
        As for :func:`~dbdbench.datasets.resolve`.
    out : path-like
        Output folder (created): new or empty, and neither the dataset folder, inside it, nor
        holding it.
    workers, scheduler
        Parallel export (:func:`dbdbench.executor.run_tasks`).
    overwrite : bool
        Accept a non-empty ``out``: the files an export wrote in ``out/image`` and ``out/gt`` (listed
        in ``out``'s manifest, see :func:`dbdbench.outputs.claim_outputs`) are removed first, so two
        exports never mix; a symbolic link or a file dbdbench did not write there is refused.

    Returns
    -------
    (int, int)
        Masks written, photos written.

    Raises
    ------
    DbdError
        As :func:`~dbdbench.datasets.resolve`; ``out`` overlapping the dataset folder, or not empty
        without ``overwrite`` (see :mod:`dbdbench.outputs`).
    """
    index = resolve(name, root, split)
    out = Path(out)
    if out.resolve() == index.root.resolve():
        raise DbdError(f"--out '{out}' is the dataset folder itself; choose another folder")
    check_output_folder(out, inputs=[("--root", index.root)], overwrite=overwrite)
    finals = [out / "gt" / f"{x.name}.png" for x in index.samples] + [
        out / "image" / f"{x.name}{x.image_path.suffix.lower()}" for x in index.samples if x.image_path
    ]
    files = [f.relative_to(out) for f in finals]
    command = "datasets export"
    remove_outputs(claim_outputs(out, files, command=command, overwrite=overwrite, clear=PARTS, naming=_ours))
    with recording(out, files, command), temporaries_removed_on_failure(finals):
        task = partial(export_sample, out=out)
        wrote = run_tasks(task, index.samples, workers=workers, scheduler=scheduler, desc="export")
    return len(wrote), sum(wrote)
