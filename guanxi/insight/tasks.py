"""Background jobs: the nightly analytics refresh of every workspace, and a refresh queued on demand."""

import datetime as dt
import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from guanxi.insight.services import insight_refresh
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Workspace

logger = logging.getLogger("guanxi.insight")


@db_task()
def refresh_workspace_insight(workspace_id: int, as_of: str | None = None) -> int:
    """Score one workspace as of `as_of` (ISO date; default today); returns the run id."""
    workspace = Workspace.objects.get(pk=workspace_id)
    with tenancy.active(workspace):
        return insight_refresh(as_of=dt.date.fromisoformat(as_of) if as_of else None).pk


# Huey's crontab is in UTC: 18:30 UTC is 02:30 in Shanghai, before the segments' own nightly refresh.
@db_periodic_task(crontab(hour="18", minute="30"))
def nightly_insight_refresh() -> None:
    """Every workspace, one after the other; one that fails keeps its old scores and the next still runs."""
    for workspace in Workspace.objects.order_by("pk"):
        try:
            with tenancy.active(workspace):
                run = insight_refresh()
            logger.info("nightly analytics refresh of %s: %s customers", workspace.slug, run.summary["customers"])
        except Exception:
            logger.exception("nightly analytics refresh of %s failed", workspace.slug)


def refresh_after_import(workspace_id: int) -> None:
    """After new orders arrived (imports call this once they commit): give new lines their product costs,
    rebuild the segment facts and refresh the saved segments now, then queue the analytics refresh.

    So when `guanxi import orders` returns (or a web import shows "done"), segment counts, previews and the 360
    figures include the new orders; the scores (CLV, churn) and the score-based segments follow once a consumer
    has run the queued refresh (in `guanxi serve`, or `guanxi worker`). A failed facts rebuild is logged, not
    raised: the import itself is committed, and the queued refresh rebuilds the facts again.
    """
    from guanxi.commerce.costs import apply_known_costs
    from guanxi.segments.services import segments_refresh_all

    workspace = Workspace.objects.get(pk=workspace_id)
    try:
        with tenancy.active(workspace):
            apply_known_costs()  # new lines of SKUs with a cost get it before the figures are computed
            segments_refresh_all()
    except Exception:
        logger.exception("segment refresh after an import into %s failed", workspace.slug)
    refresh_workspace_insight(workspace_id)
