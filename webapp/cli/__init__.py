from .batch import batch
from .processes import scheduler_command, serve_command, worker_command
from .samples import samples
from .users import users


def register_commands(app):
    for command in (batch, samples, users, worker_command, scheduler_command, serve_command):
        app.cli.add_command(command)
