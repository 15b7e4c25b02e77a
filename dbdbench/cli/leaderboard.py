"""`dbdbench leaderboard`: tables, figures and a web page from evaluation results."""

from __future__ import annotations

import click

from dbdbench.cli import options


@click.command(name="leaderboard")
@click.argument("results", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--published",
    is_flag=True,
    help="Add the shipped published references (HiFST CVPR 2017: PR curves of 11 methods on 1000 CUHK "
    "images, protocol hifst; D-DFFNet ICME 2023: MAE/F/IoU of 9 methods on CUHK-TE-1, DUT-TE, CTCUG, "
    "protocol ddffnet), each beside your results of the same protocol, dataset and split.",
)
@click.option(
    "--published-dataset",
    metavar="NAME",
    help="With --published: the dataset name of your results that is the published image set (e.g. "
    "'gt' for results evaluated with --gt cuhk/gt); names cuhk-full and cuhk-1000 are recognised.",
)
@click.option(
    "--protocols",
    type=options.ProtocolChoice(many=True),
    help="Only these protocols, comma-separated; a result of another protocol is an error. With "
    "--sensitivity: the protocols to score under (default: all).",
)
@click.option(
    "--sensitivity",
    is_flag=True,
    help="Score the --pred folders against --gt under every protocol first (protocol-sensitivity view).",
)
@click.option(
    "--pred",
    "preds",
    multiple=True,
    metavar="NAME=DIR",
    help="With --sensitivity: a method name and its folder of prediction maps (repeatable). Without: "
    "where the maps of a result's method are now, for the map browser (when they have moved).",
)
@click.option(
    "--browser/--no-browser",
    default=True,
    help="The map browser in index.html, where the results' maps are found (thumbnails in DIR/browser).",
)
@click.option(
    "--images",
    type=click.Path(file_okay=False),
    help="Folder of the photos, shown in the map browser beside the GT and each method's maps.",
)
@click.option("--gt", type=click.Path(file_okay=False), help="With --sensitivity: the ground-truth folder.")
@options.polarity("--gt-polarity", "With --sensitivity: how the --gt masks are stored (CUHK: blurred-white).")
@click.option("--pred-suffix", default="", help="With --sensitivity: suffix removed from prediction stems.")
@options.overwrite("Replace a leaderboard written before in --out.")
@options.workers("Worker processes (figures, --sensitivity).")
def command(
    results,
    out,
    published,
    published_dataset,
    protocols,
    sensitivity,
    preds,
    gt,
    gt_polarity,
    pred_suffix,
    overwrite,
    workers,
    browser,
    images,
):
    """Build tables (Markdown, LaTeX, CSV), figures (PNG, SVG, PDF) and a self-contained web page
    from RESULTS, the JSON files written by `dbdbench evaluate`.

    One table and one set of figures per protocol and dataset: numbers of different protocols are
    never mixed. When the same method and dataset have results under several protocols, a
    protocol-sensitivity table and figure show how the numbers and the ranking move.

    \b
    Examples:
      dbdbench leaderboard runs/*.json --out board
      dbdbench leaderboard hifst_cuhk.json --published --out board
      dbdbench leaderboard --sensitivity --pred lapvar=preds/lapvar --pred dct=preds/dct \\
          --gt data/gt --out board
    """
    from pathlib import Path

    from dbdbench.errors import DbdError
    from dbdbench.leaderboards.build import build_leaderboard

    paths = list(results)
    _check_out(out, sensitivity, preds, gt, paths, overwrite, images)
    moved = None
    if preds and not sensitivity and not gt:  # the map browser: maps that have moved
        from dbdbench.cli.evaluate import parse_preds

        moved = parse_preds(preds, None)
    if sensitivity:
        from dbdbench.leaderboards.sensitivity import run_sensitivity

        if not preds or not gt:
            raise DbdError("--sensitivity needs --gt DIR and at least one --pred NAME=DIR")
        folders = {}
        for item in preds:
            name, sep, folder = item.partition("=")
            if not sep or not name or not folder:
                raise DbdError(f"--pred '{item}': write it as NAME=DIR, e.g. --pred lapvar=preds/lapvar")
            if name in folders:
                raise DbdError(f"--pred: method name '{name}' is given twice; give each method once")
            folders[name] = folder
        paths += run_sensitivity(
            folders,
            gt,
            Path(out) / "results",
            protocols,
            workers,
            gt_polarity=gt_polarity,
            pred_suffix=pred_suffix,
        )
    elif gt:
        raise DbdError("--gt only works with --sensitivity; add it or give result files")
    if not paths and not published:
        raise DbdError(
            "no result files given; pass RESULT.json files (from dbdbench evaluate) or --published"
        )
    if published_dataset and not published:
        raise DbdError("--published-dataset only works with --published; add it")
    board = build_leaderboard(
        paths,
        out,
        published=published,
        protocols=protocols,
        published_dataset=published_dataset,
        workers=workers,
        images=images,
        pred_dirs=moved,
        browser=browser,
    )
    n_user = sum(r.source == "user" for r in board.results)
    n_pub = len(board.results) - n_user
    click.echo(
        f"leaderboard of {n_user} result(s)" + (f" and {n_pub} published reference(s)" if n_pub else "")
    )
    for what, path in board.files.items():
        click.echo(f"  {what:<16} {path}")
    click.echo(f"  {'plots':<16} {board.out / 'plots'} ({len(board.plots)} files)")
    if board.pictures:
        click.echo(f"  {'map browser':<16} {board.out / 'browser'} ({len(board.pictures)} images)")
    click.echo(f"open {board.files['html'].resolve().as_uri()}")


def _check_out(out, sensitivity, preds, gt, results, overwrite, images=None):
    """The leaderboard files in ``out`` may not exist (without --overwrite) nor be an input."""
    from pathlib import Path

    from dbdbench.errors import DbdError
    from dbdbench.leaderboards.build import OUTPUT_FILES
    from dbdbench.outputs import check_output_folder

    out = Path(out)
    inputs = [("--gt", gt), ("--images", images)]
    inputs += [(f"--pred {p.partition('=')[0]}", p.partition("=")[2] or None) for p in preds]
    files = list(OUTPUT_FILES)
    subs = ("plots", "browser", "results") if sensitivity else ("plots", "browser")
    for sub in subs:  # rewritten: any file there counts
        if (out / sub).is_dir():
            files += [p.relative_to(out) for p in (out / sub).rglob("*") if p.is_file()]
    check_output_folder(out, files=files, inputs=inputs, overwrite=overwrite)
    written = {(out / f).resolve() for f in files}
    for r in results:
        if Path(r).resolve() in written:
            raise DbdError(
                f"result file '{r}' is among the files this leaderboard writes; move it out of '{out}'"
            )
