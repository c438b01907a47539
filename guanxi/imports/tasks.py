"""Background jobs of imports (thin: the work is guanxi.imports.jobs.import_job_run)."""

from huey.contrib.djhuey import db_task

from guanxi.imports.jobs import import_job_run


@db_task()
def run_import_job(job_id: int) -> str:
    """Run one import started from the upload page; returns its final status."""
    return import_job_run(job_id=job_id).status
