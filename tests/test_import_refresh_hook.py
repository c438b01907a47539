"""An import that brings new or changed orders queues the analytics refresh once it commits; a dry run, a failed
import or an import that changes nothing queues none."""

from pathlib import Path

import pytest

from guanxi.imports.services import ImportFailed, orders_import
from guanxi.insight import tasks

DATA = Path(__file__).parent / "data" / "imports"
TAOBAO = DATA / "ExportOrderList_sample.csv"


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "refresh_workspace_insight", calls.append)
    return calls


def test_an_import_with_new_orders_queues_one_refresh_after_commit(workspace, store, queued,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        orders_import(workspace=workspace, store=store, path=TAOBAO)
    assert queued == [workspace.pk]
    with django_capture_on_commit_callbacks(execute=True):
        again = orders_import(workspace=workspace, store=store, path=TAOBAO)
    assert again.orders_created == again.orders_updated == 0 and queued == [workspace.pk]


def test_a_dry_run_or_a_failed_import_queues_nothing(workspace, store, queued, tmp_path,
                                                     django_capture_on_commit_callbacks):
    broken = tmp_path / "broken.csv"
    broken.write_text("订单编号,买家会员名\n1,x\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        orders_import(workspace=workspace, store=store, path=TAOBAO, dry_run=True)
        with pytest.raises(ImportFailed):
            orders_import(workspace=workspace, store=store, path=broken, fmt="taobao")
    assert queued == []
