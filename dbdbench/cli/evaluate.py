"""`dbdbench evaluate`: score prediction maps against ground truth under a named protocol."""

import click

from dbdbench.cli import options
from dbdbench.metrics.protocols import DEFAULT_PROTOCOL


@click.command(name="evaluate", context_settings={"show_default": True})
@click.option(
    "--pred",
    "preds",
    required=True,
    multiple=True,
    metavar="[NAME=]DIR",
    help="Folder of prediction maps; repeat as NAME=DIR to evaluate several methods in one run.",
)
@click.option("--gt", "gt_dir", type=click.Path(), help="Folder of ground-truth masks.")
@options.gt_polarity("How the --gt masks are stored (CUHK: blurred-white).")
@click.option("--dataset", help="A registered dataset instead of --gt (needs --root).")
@click.option("--root", type=click.Path(), help="Folder that holds the --dataset.")
@click.option("--split", help="Dataset split (e.g. te1); predictions outside it are ignored.")
@options.protocol("Protocol preset(s), comma-separated.", default=DEFAULT_PROTOCOL)
@click.option("--pred-prefix", default="", help="Removed from prediction names before matching.")
@click.option("--pred-suffix", default="", help="Removed from prediction names (e.g. _HiFSTBlurMap).")
@click.option("--allow-missing", is_flag=True, help="Evaluate matched pairs when some GT lack a map.")
@click.option("--no-resize", is_flag=True, help="A prediction of another size than its GT is an error.")
@click.option(
    "--allow-resize",
    is_flag=True,
    help="Also resize a map whose width and height are its GT's swapped (else an error).",
)
@click.option("--name", "method", help="Method name of a single --pred DIR [default: the folder name].")
@click.option(
    "--bootstrap", type=click.IntRange(min=0), default=0, help="Bootstrap resamples for CIs (at most 100000)."
)
@options.seed("Seed of the bootstrap.")
@click.option("--strict-polarity", is_flag=True, help="Stop (exit 2) when the GT polarity looks inverted.")
@options.workers()
@options.scheduler
@click.option("--out", type=click.Path(), help="Write the result JSON here (and a per-image CSV beside it).")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    help="Write <method>-<protocol>.json (and .csv) for every method and protocol here.",
)
@options.overwrite("Replace result files (--out JSON and CSV, or those --out-dir writes) that exist.")
@options.one_writer(folders=("out_dir",), files=("out",))
def command(
    preds, gt_dir, gt_polarity, dataset, root, split, protocol, pred_prefix, pred_suffix,
    allow_missing, no_resize, allow_resize, method, bootstrap, seed, strict_polarity, workers, scheduler,
    out, out_dir, overwrite,
):  # fmt: skip
    """Evaluate prediction maps (high = in-focus) against ground truth.

    Pairs files by stem (any image extension), scores them under every --protocol (see
    docs/evaluation.md), prints a summary table, and with --out (one method, one protocol) or
    --out-dir writes the result JSON and a per-image CSV of each method and protocol. Several
    --pred NAME=DIR share one decoding and preparation of each GT mask.
    """
    from pathlib import Path

    from dbdbench.cli.flags import as_options
    from dbdbench.errors import DbdError
    from dbdbench.evaluation import evaluate_many

    folders = options.parse_preds(preds, method)
    protocols = protocol
    if out and (len(folders) > 1 or len(protocols) > 1):
        raise DbdError("--out writes one result; with several methods or protocols use --out-dir DIR")
    if out and out_dir:
        raise DbdError("give --out FILE.json or --out-dir DIR, not both")
    _check_outputs(out, out_dir, folders, protocols, [("--gt", gt_dir), ("--root", root)], overwrite)
    with as_options(protocols="--protocol", resize_on="drop --no-resize"):
        results = evaluate_many(
            folders,
            gt_dir,
            dataset=dataset,
            root=root,
            split=split,
            gt_polarity=gt_polarity,
            protocols=protocols,
            pred_prefix=pred_prefix,
            pred_suffix=pred_suffix,
            allow_missing=allow_missing,
            resize=not no_resize,
            allow_resize=allow_resize,
            bootstrap=bootstrap,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            strict_polarity=strict_polarity,
        )
    seen = []
    for result in results.values():
        seen += [w for w in result.warnings if w not in seen]
    for line in seen:
        click.echo(f"dbdbench: warning: {line}", err=True)
    if out:
        next(iter(results.values())).save(out)
    if out_dir:
        from dbdbench.outputs import recording

        files = [f"{m}-{p}{ext}" for m, p in results for ext in (".json", ".csv")]
        with recording(out_dir, files, "evaluate"):
            for (m, p), result in results.items():
                result.save(Path(out_dir) / f"{m}-{p}.json")
    if len(results) == 1:
        click.echo(summary_table(next(iter(results.values()))))
    else:
        click.echo(comparison_table(results))
    if out:
        click.echo(f"wrote {out} and {click.format_filename(str(_csv(out)))}")
    if out_dir:
        click.echo(f"wrote {len(results)} results (<method>-<protocol>.json and .csv) to {out_dir}")


def comparison_table(results: dict) -> str:
    """One table per protocol: a row per method, a column per summary number."""
    lines = []
    protocols = list(dict.fromkeys(p for _, p in results))
    methods = list(dict.fromkeys(m for m, _ in results))
    width = max(len("method"), *(len(m) for m in methods))
    for p in protocols:
        first = results[(methods[0], p)]
        keys = list(first.summary)
        where = f"{first.dataset}{' ' + first.split if first.split else ''}"
        lines.append(f"protocol {p} on {where}:")
        cols = [max(len(k), 6) for k in keys]
        lines.append(
            "  " + f"{'method':<{width}}  " + "  ".join(f"{k:>{c}}" for k, c in zip(keys, cols, strict=True))
        )
        for m in methods:
            r = results[(m, p)]
            c = r.counts
            values = "  ".join(f"{r.summary[k]:>{w}.4f}" for k, w in zip(keys, cols, strict=True))
            extra = f"  ({c['evaluated']} of {c['gt']} images)" if c["missing"] else ""
            lines.append(f"  {m:<{width}}  {values}{extra}")
    return "\n".join(lines)


def _check_outputs(out, out_dir, folders, protocols, inputs, overwrite):
    """Refuse outputs that would replace files without --overwrite or overlap an input."""
    from dbdbench.outputs import check_output_file, check_output_folder, claim_outputs

    inputs = [("--pred", d) for d in folders.values()] + inputs
    if out:
        check_output_file(
            out, suffix=".json", side_files=lambda p: [_csv(p)], inputs=inputs, overwrite=overwrite
        )
    if out_dir:
        files = [f"{m}-{p}{ext}" for m in folders for p in protocols for ext in (".json", ".csv")]
        check_output_folder(out_dir, files=files, inputs=inputs, overwrite=overwrite, what="--out-dir")
        claim_outputs(out_dir, files, command="evaluate", overwrite=overwrite, what="--out-dir")


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
