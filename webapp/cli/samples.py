import click
from flask.cli import AppGroup

from .. import samples as sample_calls

samples = AppGroup("samples", help="Sample sales calls for trying Callbatch out.")


@samples.command("make")
@click.argument("path")
@click.option("--count", default=6, show_default=True)
def make(path, count):
    """Write COUNT sample Hebrew calls (audio + transcript) into PATH."""
    names = sample_calls.make_folder(path, count)
    click.echo(f"Wrote {len(names)} sample calls to {path}.")
