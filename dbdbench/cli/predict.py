"""`dbdbench predict`: run a detector on a folder or a dataset and write one 8-bit PNG map per image."""

from pathlib import Path

import click

from dbdbench.cli import options


@click.command(name="predict")
@click.option("--method", "method_name", metavar="NAME", help="Detector name (see --list).")
@click.option("--images", type=click.Path(path_type=Path), help="Folder of images.")
@click.option("--dataset", metavar="NAME", help="Dataset name (with --root), instead of --images.")
@click.option("--root", type=click.Path(path_type=Path), help="Folder holding the dataset.")
@click.option("--split", default=None, help="Dataset split (default: the dataset's test split).")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder for <name>.png maps.")
@options.overwrite("Replace maps that already exist in --out.")
@options.workers()
@options.scheduler
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Detector parameter (repeatable)."
)
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path),
    default=None,
    help="Model weights of a deep detector; short for --param checkpoint=FILE.",
)
@click.option(
    "--list",
    "list_methods",
    is_flag=True,
    help="List the detectors, each with its parameters, defaults and valid ranges, and exit.",
)
@options.one_writer()
def command(
    method_name, images, dataset, root, split, out, overwrite, workers, scheduler, params, checkpoint,
    list_methods,
):  # fmt: skip
    """Write a defocus map (255 = in-focus) per image: <out>/<image stem>.png, same size as the image.

    \b
    Examples:
      dbdbench predict --list
      dbdbench predict --method hifst --images photos/ --out maps/hifst --workers 2
      dbdbench predict --method lapvar --param window=21 --images photos/ --out maps/lapvar
      dbdbench predict --method hifst --dataset cuhk --root data/cuhk --out maps/hifst
    """
    from dbdbench.baselines.registry import list_methods as registered
    from dbdbench.errors import DbdError

    if list_methods:
        from dbdbench.params import to_text

        for m in registered():
            click.echo(f"{m.name}\t{m.citation}")
            for key, default in m.params.items():
                click.echo(f"    --param {key}={to_text(default)}\t{m.describe(key)}")
        return
    if not method_name:
        raise DbdError("--method is required; see dbdbench predict --list")
    if out is None:
        raise DbdError("--out is required: the folder that receives the maps")
    if (images is None) == (dataset is None):
        raise DbdError("give exactly one of --images DIR or --dataset NAME --root DIR")
    params = list(params)
    if checkpoint is not None:
        params.append(f"checkpoint={checkpoint}")

    from dbdbench.baselines.predict import folder_items, predict_paths, resolve_params
    from dbdbench.baselines.registry import get_method
    from dbdbench.outputs import check_output_folder

    method = get_method(method_name)
    resolve_params(method, params)  # a bad --param fails before anything is listed or checked
    if images is not None:
        if root is not None or split is not None:
            raise DbdError("--root and --split go with --dataset, not --images")
        items = folder_items(images)
        inputs = [("--images", images)]
    else:
        if root is None:
            raise DbdError("--dataset needs --root DIR: the folder holding the dataset")
        from dbdbench.datasets import resolve

        ds = resolve(dataset, root, split)
        items = [(s.name, s.image_path) for s in ds.samples]
        if not items:
            raise DbdError(f"dataset '{dataset}' at '{root}' has no images in this split")
        inputs = [("--root", root)]
    from dbdbench.atomic import temporaries_removed_on_failure
    from dbdbench.outputs import claim_outputs, record_outputs, recording

    files = [f"{name}.png" for name, _ in items]
    check_output_folder(out, files=files, inputs=inputs, overwrite=overwrite, images=True)
    claim_outputs(out, files, command="predict", overwrite=overwrite)
    with recording(out, files, "predict"), temporaries_removed_on_failure(Path(out) / f for f in files):
        written = predict_paths(method, items, out, params=params, workers=workers, scheduler=scheduler)
    # side maps (a deep model's save_steps=true: steps/<step>/<stem>.png) are named by the model, so
    # they join the manifest once written
    stems = {name for name, _ in items}
    side = [p.relative_to(out).as_posix() for p in Path(out).glob("steps/*/*.png") if p.stem in stems]
    if side:
        record_outputs(out, side, "predict")
    click.echo(f"wrote {len(written)} maps ({method.name}) to {out}")
