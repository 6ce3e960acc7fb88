import os

import click
from flask.cli import AppGroup

from .. import samples as sample_calls

samples = AppGroup("samples", help="Sample sales calls for trying Callbatch out.")


@samples.command("make")
@click.argument("path")
@click.option("--count", default=6, show_default=True)
@click.option(
    "--minutes",
    default=0.0,
    show_default=True,
    help="Make each call at least this long (0: each sample conversation once, 10-40 s).",
)
@click.option(
    "--transcripts",
    type=click.Choice(sample_calls.TRANSCRIPTS),
    default="all",
    show_default=True,
    help="Which calls come with the phone system's transcript beside them (some: the 1st, 3rd, ...; "
    "the others are left to the speech model).",
)
@click.option(
    "--stereo",
    type=click.Choice(("none", "some", "all")),
    default="none",
    show_default=True,
    help="Which calls are two-channel recordings, the agent on channel 1 (left) and the customer on "
    "channel 2 (some: the 2nd, 4th, ...).",
)
def make(path, count, minutes, transcripts, stereo):
    """Write COUNT sample Hebrew calls (audio, transcript, customer details) into PATH."""
    names = sample_calls.make_folder(
        path,
        count,
        minutes=minutes,
        transcripts=transcripts,
        stereo={"none": False, "some": "some", "all": True}[stereo],
    )
    with_transcript = sum(1 for n in names if os.path.exists(os.path.join(path, os.path.splitext(n)[0] + ".json")))
    click.echo(f"Wrote {len(names)} sample calls to {path} ({with_transcript} with a transcript beside them).")
