"""`dbdbench generate-sim`: write a simulated defocus set (see dbdbench.generators)."""

import click

from dbdbench.cli import options


@click.command(name="generate-sim", context_settings={"show_default": True})
@click.option("--recipe", default="btbnet", help="btbnet, lens, or a recipe .toml file.")
@click.option(
    "--count",
    type=int,
    default=None,
    help="Samples to make [default: the recipe's, 40000; with --resume, the folder's].",
)
@click.option("--size", type=int, default=None, help="Side of the square samples in pixels [default: 320].")
@click.option(
    "--sources",
    type=click.Path(),
    default=None,
    help="Folder of sharp photos (recursive) [default: built-in].",
)
@click.option(
    "--masks", type=click.Path(), default=None, help="Folder of region masks for the 'user' family."
)
@click.option(
    "--depths", type=click.Path(), default=None, help="Depth maps named like the --sources photos (lens)."
)
@options.seed("Random seed [default: the recipe's, 0].", default=None)
@click.option("--out", type=click.Path(), required=True, help="Output folder.")
@options.workers()
@options.scheduler
@click.option(
    "--resume",
    is_flag=True,
    help="Complete a partly written folder made with the same recipe, or extend it to a larger --count.",
)
@options.overwrite("Replace a set written before (only the files generate-sim wrote there are removed).")
@click.option("--preview", is_flag=True, help="Also write preview.png, a contact sheet with masks outlined.")
@options.one_writer()
def command(
    recipe, count, size, sources, masks, depths, seed, out, workers, scheduler, resume, overwrite, preview
):
    """Generate simulated partially defocused images with pixel-wise in-focus masks.

    Writes OUT/image/NNNNNN.png, OUT/gt/NNNNNN.png (white = in focus), OUT/recipe.toml and
    OUT/manifest.csv; the lens recipe also writes OUT/defocus/ (uint16 CoC maps).
    """
    from dbdbench.cli.flags import as_options
    from dbdbench.generators import generate_sim

    with as_options():
        s = generate_sim(
            out,
            recipe=recipe,
            count=count,
            size=size,
            seed=seed,
            sources=sources,
            masks=masks,
            depths=depths,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
            preview=preview,
            notify=lambda note: click.echo(f"generate-sim: note: {note}", err=True),
        )
    skipped = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in s.skipped_sources.items() if v) or "none"
    click.echo(
        f"generate-sim: {s.count} samples in {s.out} ({s.generated} made now, "
        f"{s.count - s.generated} already there) in {s.seconds:.1f} s; recipe {s.recipe}; "
        f"{s.sources} source photos, skipped: {skipped}; "
        f"{s.redraws} redraws"
    )
    if s.preview:
        click.echo(f"preview: {s.preview}")
