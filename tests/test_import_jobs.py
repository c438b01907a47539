"""The upload page: preview as it will be read, a background job with progress, the summary and the rejects."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from huey.contrib.djhuey import HUEY

from guanxi.commerce.models import Order
from guanxi.imports.jobs import import_job_progress
from guanxi.imports.models import ImportJob
from guanxi.workspaces.models import Role

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent.parent / "guanxi" / "data" / "samples"
TAOBAO = SAMPLES / "taobao" / "ExportOrderList_sample.csv"
ITEMS = SAMPLES / "taobao" / "ExportOrderDetailList_sample.csv"


@pytest.fixture
def immediate_jobs():
    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture
def staff(workspace, client, make_member, member_password):
    user = make_member(workspace, Role.SALES)
    client.login(username=user.username, password=member_password)
    return client


def _upload(client, store, path: Path, *, items: Path | None = None, on_error="abort", name=None):
    data = {"store": store.pk, "format": "", "on_error": on_error,
            "file": SimpleUploadedFile(name or path.name, path.read_bytes())}
    if items:
        data["items"] = SimpleUploadedFile(items.name, items.read_bytes())
    return client.post("/imports/", data)


def test_upload_preview_then_background_import_with_summary(staff, store, immediate_jobs,
                                                            django_capture_on_commit_callbacks):
    response = _upload(staff, store, TAOBAO, items=ITEMS)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.UPLOADED and job.rows_total >= 50

    page = staff.get(response["Location"]).content.decode()
    # The preview shows the file as it will be read: format, encoding, columns, and parsed first orders.
    assert "Taobao/Tmall" in page and "gb" in page.lower() and "买家实际支付金额" in page
    assert "1930679858178984" in page and "=&quot;" not in page  # ="…" unwrapped
    assert Order.objects.count() == 0  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/imports/jobs/{job.pk}/start/").status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    assert job.result["orders_created"] == Order.objects.count() == job.result["rows"]
    assert import_job_progress(job) == job.result["rows"]
    page = staff.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert str(job.result["orders_created"]) in page and "hx-trigger" not in page  # finished: no more polling


def test_a_running_job_page_polls_its_progress(staff, store):
    _upload(staff, store, TAOBAO)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    Path(job.path).parent.joinpath("progress").write_text("20")
    fragment = staff.get(f"/imports/jobs/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and 'value="20"' in fragment and "<html" not in fragment


def test_skipped_rows_can_be_downloaded_neutralised(staff, store, tmp_path, immediate_jobs,
                                                    django_capture_on_commit_callbacks):
    bad = tmp_path / "orders.csv"
    bad.write_text(
        "order_number,created,amount,status,customer_name,email\n"
        "G-1,2024-05-01 10:00:00,10.00,paid,Ann,ann@example.com\n"
        "=HYPERLINK(1),2024-05-02 10:00:00,12x,paid,Bob,bob@example.com\n",
        encoding="utf-8",
    )
    _upload(staff, store, bad, on_error="skip")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(f"/imports/jobs/{job.pk}/start/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.result["orders_created"] == 1
    assert job.result["errors"][0]["line"] == 3
    download = staff.get(f"/imports/jobs/{job.pk}/rejects.csv")
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "\n=" not in text and ",=" not in text


def test_a_bad_file_fails_the_job_and_writes_nothing(staff, store, tmp_path, immediate_jobs,
                                                     django_capture_on_commit_callbacks):
    bad = tmp_path / "orders.csv"
    bad.write_text("order_number,created,amount,status\nG-1,2024-05-01,10.00,paid\nG-2,yesterday,5.00,paid\n")
    _upload(staff, store, bad)
    job = ImportJob.objects.get()
    assert "yesterday" in staff.get(f"/imports/jobs/{job.pk}/").content.decode()  # the preview shows the bad row
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(f"/imports/jobs/{job.pk}/start/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "line 3" in job.error and "created" in job.error
    assert Order.objects.count() == 0


def test_a_read_only_member_cannot_upload_and_jobs_stay_in_their_workspace(
    workspace, other_workspace, store, client, make_member, member_password, staff
):
    _upload(staff, store, TAOBAO)
    job = ImportJob.objects.get()
    analyst = make_member(workspace, Role.ANALYST)
    client.logout()
    client.login(username=analyst.username, password=member_password)
    assert client.get("/imports/").status_code == 403
    assert client.post(f"/imports/jobs/{job.pk}/start/").status_code == 403
    stranger = make_member(other_workspace, Role.OWNER)
    client.logout()
    client.login(username=stranger.username, password=member_password)
    assert client.get(f"/imports/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/imports/jobs/{job.pk}/rejects.csv").status_code == 404
