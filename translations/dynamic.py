"""Interface words the templates translate from data (`_(record.status)`, `_(user.role)`),
listed here so `pybabel extract` keeps them in the catalogue. Never imported."""

from flask_babel import gettext as _

STATUSES = (
    _("discovered"),
    _("queued"),
    _("processing"),
    _("completed"),
    _("failed"),
    _("retrying"),
    _("skipped"),
    _("cancelled"),
)
ROLES = (_("admin"), _("manager"), _("viewer"))
ACTORS = (_("cli"), _("system"), _("scheduler"))
CONNECTIONS = (_("ok"), _("unknown"))
JOB_STATUSES = (_("running"), _("pending"))
STAGES = (_("download"), _("probe"), _("model_load"), _("asr"), _("scoring"), _("db"), _("total"))
MONITORS = (_("polling"), _("events"), _("cloud_events"), _("schedule"))
TRIGGERS = (_("manual"), _("monitor"), _("webhook"), _("api"))
DELIVERIES = (_("sent"), _("suppressed"), _("message"), _("digest"), _("test"))
CATEGORIES = (_("file_access"), _("file_format"), _("processing"), _("database"), _("system"))
# The built-in scorecard (webapp/analysis/rubric_he.yaml): its name, criteria and what earns them.
# A custom scorecard shows what its author wrote.
RUBRIC = (
    _("Sales call scorecard (Hebrew)"),
    _("Opening and greeting"),
    _("A greeting as the agent starts speaking, then the agent or the company introduced, in the first 45 seconds."),
    _("Needs discovery"),
    _("The agent asks about the customer's situation and needs (two questions make it full)."),
    _("Presentation of the offer"),
    _("A concrete offer - the product or plan, and its price or benefit."),
    _("Objection handling (price)"),
    _(
        'When the customer objects (price, "not interested", "need to think", "I already have a '
        'provider"), the agent answers with a reason or a better offer, ideally after acknowledging it.'
    ),
    _("Closing and next step"),
    _(
        "A concrete next step (a meeting, a follow-up call at a set time, the offer or a form sent, the order "
        "placed) and the customer's agreement."
    ),
    _("Courtesy"),
    _("Polite language from the agent (two expressions make it full)."),
    _("No speech was found in the recording, so there was nothing to score."),
)
