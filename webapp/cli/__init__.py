from .backup import backup
from .batch import batch
from .config import config
from .notifications import notifications
from .processes import scheduler_command, serve_command, worker_command
from .retention import retention
from .samples import samples
from .speech_models import models
from .trackers import trackers
from .users import users
from .workers import workers_command


def register_commands(app):
    for command in (
        backup,
        batch,
        config,
        models,
        notifications,
        retention,
        samples,
        trackers,
        users,
        worker_command,
        scheduler_command,
        serve_command,
        workers_command,
    ):
        app.cli.add_command(command)
