"""Background jobs: the nightly refresh of every workspace's segments, and a refresh queued on demand."""

import datetime as dt
import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from guanxi.segments.services import segments_refresh_all
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Workspace

logger = logging.getLogger("guanxi.segments")


@db_task()
def refresh_workspace_segments(workspace_id: int, as_of: str | None = None) -> dict:
    """Order figures and every segment of one workspace, as of `as_of` (ISO date or date-time; default now)."""
    workspace = Workspace.objects.get(pk=workspace_id)
    moment = None
    if as_of:
        moment = dt.date.fromisoformat(as_of) if len(as_of) == 10 else dt.datetime.fromisoformat(as_of)
    with tenancy.active(workspace):
        return segments_refresh_all(as_of=moment)


# Huey's crontab is in UTC: 19:40 UTC is 03:40 in Shanghai, after the analytics refresh has had its night.
@db_periodic_task(crontab(hour="19", minute="40"))
def nightly_segments_refresh() -> None:
    """Every workspace, one after the other; a workspace that fails is logged and the next one still runs."""
    for workspace in Workspace.objects.order_by("pk"):
        try:
            with tenancy.active(workspace):
                summary = segments_refresh_all()
            logger.info("nightly segment refresh of %s: %s segments in %ss", workspace.slug,
                        len(summary["segments"]), summary["seconds"])
        except Exception:
            logger.exception("nightly segment refresh of %s failed", workspace.slug)
