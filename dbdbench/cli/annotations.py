"""`dbdbench annotations`: merge several annotators' masks into one ground truth, with agreement figures."""

from __future__ import annotations

import sys

import click

from dbdbench.cli import options


@click.group(name="annotations", context_settings={"help_option_names": ["-h", "--help"]})
def command():
    """Annotation tools: merge the masks of several annotators (as DUT-DBD's GT was built)."""


@command.command(name="merge")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--out", required=True, type=click.Path(path_type=str), help="Folder for the merged masks.")
@click.option(
    "--rule",
    type=click.Choice(["mean", "majority", "staple"]),
    default="mean",
    show_default=True,
    help="mean: soft average of the binarised masks (DUT); majority: vote; staple: STAPLE estimate.",
)
@click.option("--report", type=click.Path(path_type=str), default=None, help="Per-image agreement CSV.")
@options.gt_polarity("What white means in the annotators' masks (the output is always white = in-focus).")
@click.option(
    "--threshold", type=float, default=0.5, show_default=True, help="Binarisation threshold in [0, 1]."
)
@options.overwrite("Replace merged masks and report files that already exist.")
@options.workers()
@options.scheduler
@options.one_writer(folders=("out",), files=("report",))
def merge_cmd(dirs, out, rule, report, gt_polarity, threshold, overwrite, workers, scheduler):
    """Merge annotator folders DIR1 DIR2 [DIR3 ...] (masks matched by file name) into OUT/<name>.png.

    Exits 1 when an image lacks an annotation or has masks of different sizes (all images that can
    be merged are still written and the report lists the problems per image).
    """
    import numpy as np

    from dbdbench.cli.flags import as_options
    from dbdbench.datasets.merge import merge_annotations

    with as_options():
        res = merge_annotations(
            dirs,
            out,
            rule=rule,
            report=report,
            threshold=threshold,
            polarity=gt_polarity,
            workers=workers,
            scheduler=scheduler,
            overwrite=overwrite,
        )
    click.echo(
        f"merged {res.written} of {len(res.rows)} images from {len(res.annotators)} annotators "
        f"({rule}) into {out}"
    )
    kappas = [r["fleiss_kappa"] for r in res.rows if "fleiss_kappa" in r and not np.isnan(r["fleiss_kappa"])]
    if kappas:
        click.echo(
            f"Fleiss' kappa: mean {np.mean(kappas):.3f}, min {np.min(kappas):.3f} over {len(kappas)} images"
        )

    def fmt(v):
        return (
            "-" if isinstance(v, float) and np.isnan(v) else (f"{v:.3f}" if isinstance(v, float) else str(v))
        )

    heads = ("annotator", "images", "missing", "size_mismatch", "mean_iou", "sensitivity", "specificity")
    keys = (
        "annotator",
        "images",
        "missing",
        "size_mismatch",
        "mean_iou_with_others",
        "mean_sensitivity",
        "mean_specificity",
    )
    rows = [[fmt(s[k]) for k in keys] for s in res.summary]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for r in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    if report:
        from pathlib import Path

        summary = Path(report).with_name(f"{Path(report).stem}-annotators.csv")
        click.echo(f"report: {report} (per image), {summary} (per annotator)")
    if res.problems:
        for line in res.problems[:10]:
            click.echo(f"problem: {line}", err=True)
        if len(res.problems) > 10:
            click.echo(f"... {len(res.problems)} images with problems in all", err=True)
        sys.exit(1)
