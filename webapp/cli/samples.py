import click
from flask.cli import AppGroup

from .. import samples as sample_calls

samples = AppGroup("samples", help="Sample sales calls for trying Callbatch out.")


@samples.command("make")
@click.argument("path")
@click.option("--count", default=6, show_default=True)
@click.option("--minutes", default=0.0, show_default=True,
              help="Make each call at least this long (0: each sample conversation once, 10-40 s).")
def make(path, count, minutes):
    """Write COUNT sample Hebrew calls (audio + transcript) into PATH."""
    names = sample_calls.make_folder(path, count, minutes=minutes)
    click.echo(f"Wrote {len(names)} sample calls to {path}.")
