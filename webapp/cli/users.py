import secrets

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..extensions import db
from ..models import AuditLog, User
from ..models.user import ROLES

users = AppGroup("users", help="Manage who may sign in.")


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", help="Leave out to have a strong one generated and printed once.")
def create_user(email, role, password):
    """Create a user who can sign in to the web app."""
    email = email.strip().lower()
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise click.ClickException(f"A user with e-mail {email} already exists.")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    user = User(email=email, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    db.session.add(
        AuditLog(
            actor="cli",
            action="user.create",
            target_type="user",
            target_id=str(user.id),
            after={"email": email, "role": role},
        )
    )
    db.session.commit()
    click.echo(f"Created {role} {email}.")
    if generated:
        click.echo(f"Password (shown once): {password}")
