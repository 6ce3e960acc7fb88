from .backup import backup
from .batch import batch
from .models import models
from .notifications import notifications
from .retention import retention
from .processes import scheduler_command, serve_command, worker_command
from .samples import samples
from .users import users


def register_commands(app):
    for command in (backup, batch, retention, models, notifications, samples, users, worker_command, scheduler_command, serve_command):
        app.cli.add_command(command)
