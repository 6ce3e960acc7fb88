"""Interface words the templates translate from data (`_(record.status)`, `_(user.role)`),
listed here so `pybabel extract` keeps them in the catalogue. Never imported."""
from flask_babel import gettext as _

STATUSES = (_("discovered"), _("queued"), _("processing"), _("completed"), _("failed"), _("retrying"),
            _("skipped"), _("cancelled"))
ROLES = (_("admin"), _("manager"), _("viewer"))
CONNECTIONS = (_("ok"), _("unknown"))
JOB_STATUSES = (_("running"), _("pending"))
CATEGORIES = (_("file_access"), _("file_format"), _("processing"), _("database"), _("system"))
