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
@options.protocol(
    "Only these protocols, comma-separated; a result of another protocol is an error. With "
    "--sensitivity: the protocols to score under (default: all)."
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
    metavar="[NAME=]DIR",
    help="With --sensitivity: a method name and its folder of prediction maps (repeatable; a bare DIR "
    "is named by its folder name). Without: where the maps of a result's method are now, for the map "
    "browser (when they have moved).",
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
@options.gt_polarity("With --sensitivity: how the --gt masks are stored (CUHK: blurred-white).")
@click.option("--pred-suffix", default="", help="With --sensitivity: suffix removed from prediction stems.")
@options.overwrite("Replace a leaderboard written before in --out.")
@options.workers("Worker processes (figures, --sensitivity).")
@options.one_writer()
def command(
    results,
    out,
    published,
    published_dataset,
    protocol,
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
    import os
    from pathlib import Path

    from dbdbench.errors import DbdError
    from dbdbench.leaderboards.build import build_leaderboard
    from dbdbench.outputs import LOCK_FILE

    paths = list(results)
    protocols = protocol
    folders = options.parse_preds(preds)
    scored = _scored_files(folders, protocols) if sensitivity else []
    _check_out(out, sensitivity, folders, gt, paths, overwrite, scored, images)
    if sensitivity and (not preds or not gt):
        raise DbdError("--sensitivity needs --gt DIR and at least one --pred NAME=DIR")
    if not sensitivity and gt:
        raise DbdError("--gt only works with --sensitivity; add it or give result files")
    moved = folders if preds and not sensitivity else None  # the map browser: maps that have moved
    if not paths and not published and not sensitivity:
        raise DbdError(
            "no result files given; pass RESULT.json files (from dbdbench evaluate) or --published"
        )
    if published_dataset and not published:
        raise DbdError("--published-dataset only works with --published; add it")
    if published_dataset:
        from dbdbench.names import check_name

        check_name(published_dataset, "--published-dataset")
    new = [f for f in scored if not os.path.lexists(Path(out) / f)]
    created = not os.path.lexists(out) or {p.name for p in Path(out).iterdir()} <= {LOCK_FILE}
    try:
        if sensitivity:
            from dbdbench.leaderboards.sensitivity import run_sensitivity
            from dbdbench.outputs import record_outputs

            record_outputs(out, scored, "leaderboard")
            paths += run_sensitivity(
                folders,
                gt,
                Path(out) / "results",
                protocols,
                workers,
                gt_polarity=gt_polarity,
                pred_suffix=pred_suffix,
            )
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
    except BaseException:
        _remove_new(Path(out), new, created)  # so that a failed run does not block its rerun
        raise
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


def _scored_files(folders, protocols) -> list[str]:
    """The result files ``--sensitivity`` writes, relative to ``--out``."""
    from dbdbench.metrics.protocols import protocol_names

    return [
        f"results/{p}/{m}{ext}"
        for p in protocols or protocol_names()
        for m in folders
        for ext in (".json", ".csv")
    ]


def _remove_new(out, files, created: bool) -> None:
    """Remove the result files of a failed ``--sensitivity`` run that were not there before it
    (and ``out`` when the run made it)."""
    import contextlib

    from dbdbench.outputs import LOCK_FILE, MANIFEST_FILE

    for f in files:
        with contextlib.suppress(OSError):
            (out / f).unlink()
    for p in sorted({(out / f).parent for f in files}, reverse=True) + [out / "results"]:
        with contextlib.suppress(OSError):
            p.rmdir()
    if created:
        with contextlib.suppress(OSError):
            if {q.name for q in out.iterdir()} <= {MANIFEST_FILE, LOCK_FILE}:
                (out / MANIFEST_FILE).unlink()
            out.rmdir()  # fails while locked: the lock's release removes it then


def _check_out(out, sensitivity, folders, gt, results, overwrite, scored, images=None):
    """The leaderboard files in ``out`` may not exist (without --overwrite) nor be an input, and
    only a board's files may be replaced."""
    from pathlib import Path

    from dbdbench.errors import DbdError
    from dbdbench.leaderboards.build import OUTPUT_FILES, claim_board
    from dbdbench.outputs import check_output_folder

    out = Path(out)
    inputs = [("--gt", gt), ("--images", images)]
    inputs += [(f"--pred {name}", folder) for name, folder in folders.items()]
    files = list(OUTPUT_FILES)
    subs = ("plots", "browser", "results") if sensitivity else ("plots", "browser")
    for sub in subs:  # rewritten: any file there counts
        if (out / sub).is_dir():
            files += [p.relative_to(out) for p in (out / sub).rglob("*") if p.is_file()]
    check_output_folder(out, files=files, inputs=inputs, overwrite=overwrite)
    claim_board(
        out, overwrite=overwrite, extra=[*scored, *(f for f in files if str(f).startswith("results"))]
    )
    written = {(out / f).resolve() for f in files}
    for r in results:
        if Path(r).resolve() in written:
            raise DbdError(
                f"result file '{r}' is among the files this leaderboard writes; move it out of '{out}'"
            )
