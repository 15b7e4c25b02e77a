"""``generate_sim``: resolve a recipe, then render, check and write every sample as its own task.

Sample ``i`` draws everything from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i, d)))``
for draw ``d = 0, 1, ...``: a draw that fails the recipe's checks is replaced by the next one. The bytes
of a sample therefore depend only on (recipe, sources, seed, i), never on the sample count, the worker
count, the order of execution, a dask cluster, or a restart: a set extended with ``--resume --count N``
equals a straight run of ``N`` samples.

The steps of :func:`generate_sim`: :func:`resolve_recipe` (a copy of the recipe with the options),
:func:`check_memory`, :func:`find_sources`, :func:`find_user_masks`, :func:`source_note`,
:func:`dbdbench.generators.writer.prepare` (the folder and ``recipe.toml``), :func:`make_samples`, then
the manifest and the preview.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dbdbench._version import __version__
from dbdbench.errors import DbdError, ParameterError
from dbdbench.generators import writer
from dbdbench.generators.allocator import keep_freed_memory
from dbdbench.generators.checks import check_sample
from dbdbench.generators.recipe import Recipe, dump_recipe, get_recipe, load_recipe, validate
from dbdbench.generators.sources import SourceSet, scan_sources
from dbdbench.imageio import encode_image
from dbdbench.outputs import check_apart
from dbdbench.pairing import list_images

PREVIEW_SAMPLES = 16


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to make any sample (picklable)."""

    out: str
    recipe: Recipe
    sources: SourceSet
    user_masks: tuple[str, ...] = ()
    depth_files: tuple[tuple[str, str], ...] = ()


@dataclass
class Summary:
    """What a ``generate_sim`` run did.

    Attributes
    ----------
    out : Path
    recipe : str
    count : int
        Samples in the folder.
    generated : int
        Samples made by this run (the rest were already complete: ``--resume``).
    seconds : float
        Wall time of the whole run.
    skipped_sources : dict of str to int
        Source files skipped as unreadable, too small or blurry.
    sources : int
        Usable source photos.
    redraws : int
        Draws rejected by the checks, over the samples made by this run.
    preview : Path or None
    notes : list of str
        One-line notes on the set (see ``notify`` of :func:`generate_sim`).
    """

    out: Path
    recipe: str
    count: int
    generated: int
    seconds: float
    skipped_sources: dict[str, int] = field(default_factory=dict)
    sources: int = 0
    redraws: int = 0
    preview: Path | None = None
    notes: list[str] = field(default_factory=list)


def sample_rng(seed: int, index: int, draw: int = 0) -> np.random.Generator:
    """The random stream of draw ``draw`` of sample ``index``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, draw)))


def _fmt(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render_sample(job: Job, index: int):
    """Render sample ``index``: the first draw that passes the checks.

    Returns
    -------
    image : ndarray, shape (size, size, 3), uint8
    infocus : ndarray, shape (size, size), float32 in {0, 1}
    row : dict of str to str
        The manifest row.
    extra : dict of str to ndarray
        Extra label maps (``defocus`` for the lens recipe).

    Raises
    ------
    DbdError
        No draw passed within ``checks.max_draws``.
    """
    r = job.recipe
    render = get_recipe(r.recipe).render_function()
    for draw in range(r.checks.max_draws):
        rng = sample_rng(r.seed, index, draw)
        drawn = render(rng, job)
        if drawn is None:  # rejected by the in-focus fraction before rendering
            last = "in-focus fraction out of [checks] bounds"
            continue
        image, infocus, info, extra = drawn
        ok, fraction, ratio = check_sample(image, infocus, r.checks)
        if ok:
            break
        last = f"in-focus fraction {fraction:.3f}, sharpness ratio {ratio:.2f}"
    else:
        raise DbdError(
            f"sample {index} failed the recipe checks in all {r.checks.max_draws} draws (last: {last}); "
            "loosen [checks] or use sharper sources"
        )
    name = writer.sample_name(index)
    row = {"name": name, "image": f"image/{name}.{r.output.image_format}", "gt": f"gt/{name}.png"}
    if extra:
        row.update({key: f"{key}/{name}.png" for key in extra})
    row.update(info)
    row.update(infocus_fraction=fraction, sharpness_ratio=ratio, seed=r.seed, index=index, draw=draw)
    return image, infocus, {k: _fmt(v) for k, v in row.items()}, extra


def make_sample(job: Job, index: int) -> dict[str, str]:
    """Render, encode and write sample ``index`` (the per-sample task); returns its manifest row."""
    keep_freed_memory()
    image, infocus, row, extra = render_sample(job, index)
    r = job.recipe
    ext = "." + r.output.image_format
    files = [
        (row["image"], encode_image(image, ext, r.output.jpeg_quality)),
        (row["gt"], encode_image((infocus > 0.5).astype(np.uint8) * np.uint8(255), ".png")),
    ]
    files += [(row[key], encode_image(value, ".png")) for key, value in extra.items()]
    writer.write_sample(Path(job.out), files, row)
    return row


#: Above this many samples per source photo the set repeats its photos enough to say so.
SAMPLES_PER_PHOTO_NOTE = 200


def resolve_recipe(
    recipe: str | os.PathLike | Recipe,
    *,
    count: int | None = None,
    size: int | None = None,
    seed: int | None = None,
    sources: str | os.PathLike | None = None,
    masks: str | os.PathLike | None = None,
    depths: str | os.PathLike | None = None,
) -> Recipe:
    """The recipe with the command's options applied: a new object (``recipe`` is not changed).

    Parameters
    ----------
    recipe : str, path-like or Recipe
    count, size, seed, sources, masks, depths :
        Options overriding the recipe (None keeps the recipe's).

    Raises
    ------
    DbdError
        A bad option or value (the message names it).
    """
    r = copy.deepcopy(recipe) if isinstance(recipe, Recipe) else load_recipe(recipe)
    if count is not None:
        r.count = int(count)
    if size is not None:
        r.size = int(size)
    if seed is not None:
        r.seed = int(seed)
    for param, value in (("sources", sources), ("masks", masks), ("depths", depths)):
        if value is not None and not Path(value).is_dir():
            raise ParameterError("{" + param + "} '{got}' is not a folder; check the path", got=value)
    if sources is not None:
        r.sources = str(Path(sources).resolve())
    if masks is not None:
        r.masks = str(Path(masks).resolve())
    if depths is not None:
        if r.lens is None:
            raise ParameterError("{depths} needs {recipe} lens (the btbnet recipe has no depth)")
        r.depths = str(Path(depths).resolve())
        r.lens.depth_source = "folder"
    if r.lens is not None and r.lens.depth_source == "folder" and not r.depths:
        raise ParameterError("recipe key 'lens.depth_source' is 'folder' but no {depths} folder was given")
    validate(r, "options")
    r.generator_version = __version__
    return r


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or None where it cannot be told.

    ``psutil``'s available memory when installed (it comes with ``dask.distributed``), else the free
    physical pages (``os.sysconf``); the smaller of that and the room left under a cgroup v2 limit.
    """
    try:
        import psutil

        avail = int(psutil.virtual_memory().available)
    except ImportError:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    cgroup = Path("/sys/fs/cgroup")
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            avail = min(avail, int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return avail


def check_memory(r: Recipe, workers: int, scheduler: str | None) -> None:
    """Refuse a ``size`` whose samples would not fit in memory, before anything is read or written.

    Each local worker renders one sample at a time and needs about ``bytes_per_pixel * size**2``
    bytes (:class:`~dbdbench.generators.recipe.RecipeKind`). On a dask cluster (``scheduler``) the
    workers' memory is not known here and nothing is checked.

    Raises
    ------
    DbdError
        Naming ``--size``, the memory it needs and the largest size that fits.
    """
    if scheduler:
        return
    avail = available_memory()
    if avail is None:
        return
    workers = min(workers, r.count)  # no more samples in flight than samples
    per_pixel = get_recipe(r.recipe).bytes_per_pixel
    need = per_pixel * r.size**2 * workers
    if need > avail:
        largest = math.isqrt(avail // (per_pixel * workers))
        gib = 2.0**30
        raise ParameterError(
            "{size} {got} needs about {need} GiB of memory for {n} worker(s) ({per_pixel} bytes per "
            "pixel each) but {avail} GiB is available; use {size} {largest} or less"
            + (" or fewer {workers}" if workers > 1 else ""),
            got=r.size,
            need=f"{need / gib:.1f}",
            n=workers,
            per_pixel=per_pixel,
            avail=f"{avail / gib:.1f}",
            largest=largest,
        )


def find_sources(r: Recipe, workers: int, scheduler: str | None) -> tuple[SourceSet, dict[str, str]]:
    """Screen the sources and pair the depth maps; record both in ``r`` (``sources`` for Middlebury,
    ``sources_fingerprint``).

    Returns
    -------
    source_set : SourceSet
    depth_files : dict of str to str
        Source name -> depth map file (``--depths`` only).
    """
    depth_files: dict[str, str] = {}
    if r.lens is not None and r.lens.depth_source == "middlebury":
        from dbdbench.generators.lens import middlebury

        if r.size > min(middlebury()[1].shape):
            raise ParameterError(
                "{size} {got} is larger than the Middlebury Motorcycle view (741 x 500); "
                "use {size} 500 or less",
                got=r.size,
            )
        source_set = SourceSet(photos=[], procedural_fraction=0.0)
        r.sources = "skimage:motorcycle"
    else:
        source_set = scan_sources(
            None if r.sources == "builtin" else r.sources,
            r.size,
            min_sharpness=r.screen.min_sharpness,
            procedural_fraction=r.screen.procedural_fraction,
            workers=workers,
            scheduler=scheduler,
        )
    if r.depths:
        found = {k: str(v) for k, v in list_images(r.depths, recursive=True, what="--depths folder").items()}
        paired = [s for s in source_set.photos if s.name.rsplit(".", 1)[0] in found]
        if not paired:
            raise ParameterError(
                "{depths} '{got}' has no depth map named like a usable source photo; "
                "name each depth map after its photo (same stem)",
                got=r.depths,
            )
        source_set.skipped["no_depth"] = len(source_set.photos) - len(paired)
        source_set.photos = paired
        source_set.procedural_fraction = 0.0
        depth_files = {s.name: found[s.name.rsplit(".", 1)[0]] for s in paired}
    r.sources_fingerprint = source_set.fingerprint() if source_set.photos else ""
    return source_set, depth_files


def find_user_masks(r: Recipe) -> tuple[str, ...]:
    """The files of the ``user`` mask family (``--masks``), or () without it."""
    if not r.masks:
        return ()
    user_masks = tuple(str(p) for p in list_images(r.masks, recursive=True, what="--masks folder").values())
    if not user_masks:
        raise ParameterError(
            "{masks} '{got}' holds no image files; give a folder of mask images", got=r.masks
        )
    return user_masks


def source_note(r: Recipe, source_set: SourceSet) -> str | None:
    """One line when the set would draw more than :data:`SAMPLES_PER_PHOTO_NOTE` samples per source
    photo (the built-in sources are only a handful of photos plus dead-leaves textures), else None."""
    photos = len(source_set.photos)
    if not photos:
        return None
    per_photo = r.count * (1.0 - source_set.procedural_fraction) / photos
    if per_photo <= SAMPLES_PER_PHOTO_NOTE:
        return None
    textures = " (the rest are dead-leaves textures)" if source_set.procedural_fraction > 0 else ""
    return (
        f"{r.count} samples from {photos} source photos, about {per_photo:.0f} crops of each{textures}; "
        "pass --sources DIR with more sharp photos for a more varied set"
    )


def make_samples(
    job: Job, todo: list[int], *, workers: int, scheduler: str | None, progress: bool | None
) -> list[dict[str, str]]:
    """Make the samples ``todo`` (one task each); their manifest rows in order."""
    from dbdbench.executor import run_tasks

    return run_tasks(
        functools.partial(make_sample, job),
        todo,
        workers=workers,
        scheduler=scheduler,
        desc="generate-sim",
        progress=progress,
    )


def generate_sim(
    out: str | os.PathLike,
    *,
    recipe: str | os.PathLike | Recipe = "btbnet",
    count: int | None = None,
    size: int | None = None,
    seed: int | None = None,
    sources: str | os.PathLike | None = None,
    masks: str | os.PathLike | None = None,
    depths: str | os.PathLike | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    preview: bool = False,
    progress: bool | None = None,
    notify: Callable[[str], None] | None = None,
) -> Summary:
    """Generate a simulated defocus set (``dbdbench generate-sim``).

    Parameters
    ----------
    out : path-like
        Output folder (layout in :mod:`dbdbench.generators.writer`).
    recipe : str, path-like or Recipe
        ``"btbnet"`` (default), ``"lens"`` or a recipe TOML file; a Recipe object is copied, not
        changed.
    count, size, seed : int, optional
        Override the recipe's (defaults 40000 samples, 320 px, seed 0). With ``resume``, ``count``
        defaults to the folder's, and a larger ``count`` extends the set.
    sources : path-like, optional
        Folder of sharp photos (recursive); default: the built-in sources.
    masks : path-like, optional
        Folder of region masks (white = region) for the ``user`` mask family.
    depths : path-like, optional
        Depth maps matched to ``sources`` by stem (lens recipe; selects ``depth_source = "folder"``).
    workers : int
        Local worker processes.
    scheduler : str, optional
        dask.distributed scheduler address ``tcp://host:port`` (overrides ``workers``).
    resume : bool
        Complete a partly written folder made with the same recipe and options, or extend it to a
        larger ``count`` (the samples there stay as they are; the new ones are those a run of
        ``count`` samples writes).
    overwrite : bool
        Replace a folder written before (only the files this command owns are removed).
    preview : bool
        Also write ``preview.png``, a contact sheet of the first samples with their masks outlined.
    progress : bool, optional
        Force the progress bar on or off (default: on a terminal).
    notify : callable, optional
        Called with a one-line note before the samples are made (e.g. few source photos for the
        count); the notes are also in :attr:`Summary.notes`.

    Returns
    -------
    Summary

    Raises
    ------
    DbdError
        Bad options or recipe, a size that does not fit in memory, no usable source, a folder from
        another recipe (or with more samples than ``count``), a full disk. A run that fails before
        writing any sample leaves the folder as it found it.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if resume and count is None:  # a plain --resume completes the folder as it is
        count = writer.recorded_count(out)
    r = resolve_recipe(
        recipe,
        count=count,
        size=size,
        seed=seed,
        sources=sources,
        masks=masks,
        depths=depths,
    )
    # --overwrite clears out: it may neither hold nor lie inside an input folder (options or recipe)
    inputs = {
        "--sources": r.sources if r.sources != "builtin" else None,
        "--masks": r.masks,
        "--depths": r.depths,
    }
    check_apart(out, [(what, folder or None) for what, folder in inputs.items()])
    check_memory(r, workers, scheduler)
    source_set, depth_files = find_sources(r, workers, scheduler)
    user_masks = find_user_masks(r)
    notes = [note for note in (source_note(r, source_set),) if note]
    for note in notes if notify is not None else ():
        notify(note)
    start = writer.prepare(out, r.to_dict(), dump_recipe(r), resume=resume, overwrite=overwrite)
    todo = [i for i in range(r.count) if i not in start.done]
    job = Job(str(out.resolve()), r, source_set, user_masks, tuple(sorted(depth_files.items())))
    try:
        rows = make_samples(job, todo, workers=workers, scheduler=scheduler, progress=progress)
    except BaseException:
        writer.undo_start(out, start)
        raise
    writer.write_manifest(out, r.count)
    preview_path = None
    if preview:
        from dbdbench.generators.preview import write_preview

        names = [writer.sample_name(i) for i in range(min(PREVIEW_SAMPLES, r.count))]
        preview_path = write_preview(out, names, "." + r.output.image_format, out / writer.PREVIEW_FILE)
    return Summary(
        out=out,
        recipe=r.recipe,
        count=r.count,
        generated=len(todo),
        seconds=time.perf_counter() - t0,
        skipped_sources=dict(source_set.skipped),
        sources=len(source_set.photos),
        redraws=sum(int(row["draw"]) for row in rows),
        preview=preview_path,
        notes=notes,
    )
