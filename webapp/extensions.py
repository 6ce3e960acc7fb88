from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def commit_without_waiting_for_disk(executor):
    """Let this transaction's commit return before PostgreSQL writes it to disk (it is
    visible to everyone at once all the same). Only for writes a crash may lose safely
    because they are redone: a claim, a heartbeat, a content hash; never for a result.
    `executor` is the session or a connection inside the transaction."""
    bind = executor.get_bind() if hasattr(executor, "get_bind") else executor
    if bind.dialect.name == "postgresql":
        executor.execute(text("SET LOCAL synchronous_commit TO OFF"))
