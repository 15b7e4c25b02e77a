"""`dbdbench figure`: the visual comparison figure (photo | each method's map | ground truth)."""

import click

from dbdbench.cli import options
from dbdbench.metrics.protocols import DEFAULT_PROTOCOL


@click.command(name="figure", context_settings={"show_default": True})
@click.option(
    "--pred",
    "preds",
    required=True,
    multiple=True,
    metavar="[NAME=]DIR",
    help="Folder of maps, one column each, in order; repeat as NAME=DIR (as in evaluate).",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(),
    help="Folder of the photos (default with --dataset: its own).",
)
@click.option("--gt", "gt_dir", type=click.Path(), help="Folder of ground-truth masks.")
@options.gt_polarity("How the --gt masks are stored (CUHK: blurred-white).")
@click.option("--dataset", help="A registered dataset instead of --gt (needs --root).")
@click.option("--root", type=click.Path(), help="Folder that holds the --dataset.")
@click.option("--split", help="Dataset split (e.g. te1).")
@click.option("--pred-prefix", default="", help="Removed from map names before matching.")
@click.option("--pred-suffix", default="", help="Removed from map names (e.g. _HiFSTBlurMap).")
@click.option(
    "--stems", help="The images to show, comma-separated GT names, top to bottom (instead of --pick)."
)
@click.option(
    "--pick",
    type=click.Choice(["hardest", "disagree", "random"]),
    default="hardest",
    help="Choose --rows images: lowest mean per-image F, largest spread of F between methods, or random.",
)
@click.option("--rows", type=click.IntRange(min=1, max=1000), default=4, help="Images to pick.")
@options.seed("Seed of --pick random.")
@click.option(
    "--protocol",
    type=options.ProtocolChoice(),
    default=DEFAULT_PROTOCOL,
    help="Protocol of the per-image F / MAE (--score, --pick hardest|disagree).",
)
@click.option(
    "--score",
    type=click.Choice(["f", "mae"]),
    default=None,
    help="Print the per-image F or MAE under each map.",
)
@click.option(
    "--width",
    type=click.Choice(["single", "double"]),
    default="double",
    help="One paper column (3.5 in) or two (7.16 in).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    help="The figure NAME.png; NAME.svg and NAME.pdf are written beside it.",
)
@options.overwrite("Replace the three figure files if they exist.")
@options.workers()
@options.one_writer(files=("out",))
def command(
    preds, images_dir, gt_dir, gt_polarity, dataset, root, split, pred_prefix, pred_suffix, stems, pick,
    rows, seed, protocol, score, width, out, overwrite, workers,
):  # fmt: skip
    """Draw the visual comparison figure: one row per image, columns photo | each --pred method's map
    | ground truth, maps white = in-focus, as PNG, SVG and PDF.

    Maps and GT are paired with the photos by file stem as in `dbdbench evaluate`; a GT stored
    blurred-white is shown inverted. Large photos are downscaled for the figure only. Extra map
    folders (e.g. BTBCRL's maps after each CRLNet step) are more --pred columns.

    \b
    Examples:
      dbdbench figure --images data/image --gt data/gt --pred lapvar=maps/lapvar \\
          --pred dct=maps/dct --pick hardest --rows 4 --score f --out fig/compare.png
    """
    from dbdbench.leaderboards.gallery import make_gallery, output_files
    from dbdbench.outputs import check_output_file

    folders = options.parse_preds(preds)
    inputs = [("--pred", d) for d in folders.values()]
    inputs += [("--images", images_dir), ("--gt", gt_dir), ("--root", root)]
    files = output_files(out)
    check_output_file(out, suffix=".png", side_files=files[1:], inputs=inputs, overwrite=overwrite)
    names = [s.strip() for s in stems.split(",") if s.strip()] if stems is not None else None
    if stems is not None and not names:
        raise click.BadParameter(
            f"{stems!r} names no image; give GT names, comma-separated", param_hint="--stems"
        )
    gallery = make_gallery(
        folders,
        out,
        images_dir=images_dir,
        gt_dir=gt_dir,
        dataset=dataset,
        root=root,
        split=split,
        gt_polarity=gt_polarity,
        pred_prefix=pred_prefix,
        pred_suffix=pred_suffix,
        names=names,
        pick=pick,
        rows=rows,
        seed=seed,
        protocol=protocol,
        score=score,
        width=width,
        workers=workers,
    )
    how = "as given" if names else f"--pick {pick}"
    click.echo(
        f"figure of {len(gallery.names)} images ({how}: {', '.join(gallery.names)}) x "
        f"{len(gallery.methods)} methods"
    )
    for path in gallery.files.values():
        click.echo(f"  wrote {path}")
