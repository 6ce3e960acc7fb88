"""/api/batch/reports/agents: the per-agent report (the Reports › Per-agent page's table)."""

from ..services import agents as service
from . import bp
from .registry import operation
from .schemas import AgentsQuery

TAG = "reports"


@operation(bp, "GET", "/batch/reports/agents", tag=TAG, summary="Per-agent report", query=AgentsQuery)
def agents_report(query):
    """Each agent's calls, average overall score and per-criterion averages, talk share (percent of the
    speech that was the agent's, from speaker-labelled transcripts) and the change of the average score
    against the period of the same length just before."""
    filters = service.parse_filters({k: v for k, v in query.model_dump().items() if v is not None})
    return service.view(service.report(filters))
