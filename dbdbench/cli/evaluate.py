"""`dbdbench evaluate`: score prediction maps against ground truth under a named protocol."""

import click

from dbdbench.cli import options


@click.command(name="evaluate", context_settings={"show_default": True})
@click.option("--pred", "pred_dir", required=True, type=click.Path(), help="Folder of prediction maps.")
@click.option("--gt", "gt_dir", type=click.Path(), help="Folder of ground-truth masks.")
@options.polarity("--gt-polarity", "How the --gt masks are stored (CUHK: blurred-white).")
@click.option("--dataset", help="A registered dataset instead of --gt (needs --root).")
@click.option("--root", type=click.Path(), help="Folder that holds the --dataset.")
@click.option("--split", help="Dataset split (e.g. te1); predictions outside it are ignored.")
@click.option("--protocol", type=options.ProtocolChoice(), default="sod", help="Protocol preset.")
@click.option("--pred-prefix", default="", help="Removed from prediction names before matching.")
@click.option("--pred-suffix", default="", help="Removed from prediction names (e.g. _HiFSTBlurMap).")
@click.option("--allow-missing", is_flag=True, help="Evaluate matched pairs when some GT lack a map.")
@click.option("--no-resize", is_flag=True, help="A prediction of another size than its GT is an error.")
@click.option("--name", "method", help="Method name in the result [default: the --pred folder name].")
@click.option("--bootstrap", type=click.IntRange(min=0), default=0, help="Bootstrap resamples for CIs.")
@options.seed("Seed of the bootstrap.")
@options.workers()
@options.scheduler
@click.option("--out", type=click.Path(), help="Write the result JSON here (and a per-image CSV beside it).")
@options.overwrite("Replace an existing --out JSON and its CSV.")
def command(
    pred_dir, gt_dir, gt_polarity, dataset, root, split, protocol, pred_prefix, pred_suffix,
    allow_missing, no_resize, method, bootstrap, seed, workers, scheduler, out, overwrite,
):  # fmt: skip
    """Evaluate prediction maps (high = in-focus) against ground truth.

    Pairs files by stem (any image extension), scores them under --protocol (see
    docs/evaluation.md), prints a summary table, and with --out writes the result JSON and a
    per-image CSV.
    """
    from dbdbench.evaluation import evaluate

    if out:
        from dbdbench.outputs import check_output_file

        inputs = [("--pred", pred_dir), ("--gt", gt_dir), ("--root", root)]
        check_output_file(
            out, suffix=".json", side_files=lambda p: [_csv(p)], inputs=inputs, overwrite=overwrite
        )
    result = evaluate(
        pred_dir,
        gt_dir,
        dataset=dataset,
        root=root,
        split=split,
        gt_polarity=gt_polarity,
        protocol=protocol,
        name=method,
        pred_prefix=pred_prefix,
        pred_suffix=pred_suffix,
        allow_missing=allow_missing,
        resize=not no_resize,
        bootstrap=bootstrap,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
    )
    if out:
        result.save(out)
    click.echo(summary_table(result))
    if out:
        click.echo(f"wrote {out} and {click.format_filename(str(_csv(out)))}")


def _csv(out):
    from pathlib import Path

    return Path(out).with_suffix(".csv")


def summary_table(result) -> str:
    """A short text table of the summary numbers (with 95% intervals when bootstrapped)."""
    c = result.counts
    lines = [
        f"{result.method} on {result.dataset}{' ' + result.split if result.split else ''} "
        f"(protocol {result.protocol}): {c['evaluated']} of {c['gt']} images"
        + (f", {c['missing']} missing" if c["missing"] else ""),
    ]
    width = max(len(k) for k in result.summary)
    for key, value in result.summary.items():
        row = f"  {key:<{width}}  {value:.4f}"
        if key in result.intervals:
            lo, hi = result.intervals[key]
            row += f"  [{lo:.4f}, {hi:.4f}]"
        lines.append(row)
    return "\n".join(lines)
