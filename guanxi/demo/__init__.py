"""The demo: two workspaces, and a login for each role in both.

* `demo` — a generated Chinese shop (Asia/Shanghai, reporting in CNY), scored as of today: a Taobao and a Tmall
  store in yuan and a small Shopify store selling abroad in dollars (`guanxi.demo.stores`), some buyers in two
  of them, and an illustrative USD rate (USD_CNY) so the figures across stores convert.
* `cdnow` — the real CDNOW transaction log (1997-01-01..1998-06-30, USD, America/New_York) in its store `CDNOW`,
  scored as of 1998-06-30, its last day (`AnalyticsAsOf`): in a 2026 shop its buyers would be 29 years lapsed.

`build_demo()` is idempotent: it creates what is missing (workspaces, users, memberships, the CDNOW store, the
generated store) and leaves what exists alone, with two exceptions: the owner `demo` gets the demo password back
if it was changed (the command line prints it), and a demo user with fewer than three follow-ups due today (the
demo was built on an earlier day) gets some, so "my follow-ups today" is never empty.

Logins (all with the password DEMO_PASSWORD, "guanxi-demo"):
    demo       owner        xiaoli     sales (售前)        xiaowang   service (售后)
    xiaozhang  marketing    xiaochen   analyst (read-only)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from guanxi.workspaces.models import Role, Workspace

log = logging.getLogger("guanxi.demo")

if TYPE_CHECKING:
    from guanxi.demo.cdnow import CdnowLoad
    from guanxi.demo.taobao import TaobaoGeneration

DEMO_SLUG = "demo"
DEMO_NAME = "演示店铺 Demo shop"
DEMO_TIME_ZONE = "Asia/Shanghai"
DEMO_PASSWORD = "guanxi-demo"
CDNOW_SLUG = "cdnow"
CDNOW_NAME = "CDNOW 1997–1998"
CDNOW_TIME_ZONE = "America/New_York"
CDNOW_CURRENCY = "USD"
CDNOW_AS_OF = dt.date(1998, 6, 30)  # the file's last day
DEMO_USERS = [
    ("demo", Role.OWNER),
    ("xiaoli", Role.SALES),
    ("xiaowang", Role.SERVICE),
    ("xiaozhang", Role.MARKETING),
    ("xiaochen", Role.ANALYST),
]
# Who chats with customers and owns follow-ups in the generated shop.
DEMO_STAFF = ("demo", "xiaoli", "xiaowang")
TODAY_TASKS_PER_USER = 3


@dataclasses.dataclass(frozen=True)
class DemoLogin:
    workspace: Workspace  # `demo`, the one the login opens
    cdnow_workspace: Workspace
    username: str
    password: str
    cdnow: "CdnowLoad"
    taobao: "TaobaoGeneration | None"  # None when the store had been generated before

    @property
    def cdnow_orders_created(self) -> int:
        return self.cdnow.orders_created

    @property
    def taobao_orders_created(self) -> int:
        return self.taobao.orders if self.taobao else 0

    @property
    def stores_summary(self) -> str:
        """The demo workspace's stores and currencies, and the rates that convert them (for the command line)."""
        from guanxi.workspaces.models import ExchangeRate, Store

        stores = Store.all_workspaces.filter(workspace=self.workspace).order_by("id")
        rates = ExchangeRate.all_workspaces.filter(workspace=self.workspace, valid_from__isnull=True)
        text = ", ".join(f"{store.name} ({store.currency})" for store in stores)
        converted = "; ".join(f"1 {rate.currency} = {rate.rate.normalize()} {self.workspace.currency}"
                              for rate in rates)
        return f"{text}; {converted} (an illustrative rate: set yours in Settings)" if converted else text


def build_demo(
    *, customers: int = 2000, orders: int = 10000, progress: bool = False, seed: int = 1,
    now: dt.datetime | None = None, cdnow_path: Path | str | None = None,
) -> DemoLogin:
    """Create (or complete) the demo workspaces; returns the owner's login.

    `customers`/`orders` size the generated shop (made once, the orders split across its stores); `cdnow_path`
    replaces the CDNOW master file (tests load a slice of it).
    """
    from guanxi.demo.cdnow import CDNOW_MASTER, STORE_NAME, load_cdnow
    from guanxi.demo.stores import DEMO_STORES
    from guanxi.demo.taobao import DEFAULT_STORE_NAME, generate_taobao_store
    from guanxi.commerce.models import Order
    from guanxi.workspaces.models import Store
    from guanxi.workspaces.services import member_add, user_ensure, workspace_create

    User = get_user_model()
    now = now or timezone.now()
    with transaction.atomic():
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first() or workspace_create(
            slug=DEMO_SLUG, name=DEMO_NAME, time_zone=DEMO_TIME_ZONE, currency="CNY"
        )
        cdnow_workspace = Workspace.objects.filter(slug=CDNOW_SLUG).first() or workspace_create(
            slug=CDNOW_SLUG, name=CDNOW_NAME, time_zone=CDNOW_TIME_ZONE, currency=CDNOW_CURRENCY
        )
        existing = {user.username: user for user in User.objects.filter(username__in=[u for u, _ in DEMO_USERS])}
        users = {}
        for username, role in DEMO_USERS:
            user = existing.get(username)
            # Hashing a password takes a good part of a second: reset only a missing user or a changed login.
            if user is None or (username == DEMO_USERS[0][0] and not user.check_password(DEMO_PASSWORD)):
                user = user_ensure(username=username, password=DEMO_PASSWORD)
            users[username] = user
            # The same role in both, so the login can switch between them.
            for each in (workspace, cdnow_workspace):
                member_add(workspace=each, user=user, role=role)

    cdnow = load_cdnow(workspace=cdnow_workspace, path=cdnow_path or CDNOW_MASTER, progress=progress)
    _score_cdnow(cdnow_workspace, loaded=cdnow.orders_created > 0)
    if Store.all_workspaces.filter(workspace=workspace, name=STORE_NAME).exists():
        # Demos built before CDNOW had its own workspace; orders are never deleted, so say how to start afresh.
        log.warning("the demo workspace still holds the CDNOW store of an earlier demo (CDNOW is now in workspace "
                    "%r); for a clean demo remove the demo database and run `guanxi demo` again", CDNOW_SLUG)
    store = Store.all_workspaces.filter(workspace=workspace, name=DEFAULT_STORE_NAME).first()
    generation = None
    if store is None or not Order.all_workspaces.filter(store=store).exists():
        generation = generate_taobao_store(
            workspace=workspace, customers=customers, orders=orders, seed=seed, now=now, stores=DEMO_STORES,
            staff=[users[name].pk for name in DEMO_STAFF], today_tasks_per_staff=TODAY_TASKS_PER_USER,
            progress=progress,
        )
    elif Store.all_workspaces.filter(workspace=workspace, name__in=[s.name for s in DEMO_STORES]).count() < len(
            DEMO_STORES):
        log.warning("the demo workspace was generated before it had several stores; for the multi-store demo "
                    "remove the demo database and run `guanxi demo` again")
    _ensure_usd_rate(workspace)
    _top_up_todays_tasks(workspace, [users[name] for name in DEMO_STAFF], now=now)
    _refresh_segments(workspace, now=now)
    return DemoLogin(workspace=workspace, cdnow_workspace=cdnow_workspace, username=DEMO_USERS[0][0],
                     password=DEMO_PASSWORD, cdnow=cdnow, taobao=generation)


def _ensure_usd_rate(workspace: Workspace) -> None:
    """Give the demo an undated USD rate (USD_CNY, illustrative) unless the owner has set one, so the Shopify
    store's dollars count in the workspace's yuan figures instead of being left out."""
    from guanxi.demo.stores import USD_CNY
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import ExchangeRate
    from guanxi.workspaces.services import exchange_rate_set

    with tenancy.active(workspace):
        if workspace.currency != "USD" and not ExchangeRate.objects.filter(currency="USD").exists():
            exchange_rate_set(workspace=workspace, currency="USD", rate=USD_CNY)


def _score_cdnow(workspace: Workspace, *, loaded: bool) -> None:
    """Fix CDNOW's analytics day to its last one and score it (again only when orders were added or it has never
    been scored: its data never changes, and scoring 23,570 customers takes seconds)."""
    from guanxi.insight.models import AnalyticsRun
    from guanxi.insight.services import analytics_as_of_set, insight_refresh
    from guanxi.workspaces import tenancy

    analytics_as_of_set(workspace=workspace, as_of=CDNOW_AS_OF)
    with tenancy.active(workspace):
        if loaded or not AnalyticsRun.objects.filter(status=AnalyticsRun.Status.SUCCEEDED).exists():
            insight_refresh()  # as of CDNOW_AS_OF; refreshes the segments as of that day too


def _refresh_segments(workspace: Workspace, *, now: dt.datetime) -> None:
    """Order figures for segment rules, the built-in segments and every segment's members (after the analytics
    refresh, so score-based segments are filled)."""
    from guanxi.segments.services import segments_refresh_all
    from guanxi.workspaces import tenancy

    from guanxi.insight.services import insight_refresh

    with tenancy.active(workspace):
        insight_refresh(as_of=now)
        segments_refresh_all(as_of=now)


def _top_up_todays_tasks(workspace: Workspace, staff: list, *, now: dt.datetime) -> None:
    """Give each staff member TODAY_TASKS_PER_USER open follow-ups due today (a demo built on an earlier day)."""
    from guanxi.activities.models import Task, TaskStatus
    from guanxi.activities.services import task_create
    from guanxi.customers.models import Customer
    from guanxi.demo.taobao import DEFAULT_STORE_NAME
    from guanxi.demo.vocabulary import TASK_TITLES
    from guanxi.workspaces import tenancy

    with tenancy.active(workspace), transaction.atomic():
        today = tenancy.workspace_today(now)
        recent = list(
            Customer.objects.filter(orders__store__name=DEFAULT_STORE_NAME, merged_into__isnull=True)
            .order_by("-id").values_list("id", flat=True).distinct()[:50]
        )
        if not recent:
            return
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=recent)}
        picks = iter(sorted(customers, reverse=True) * len(staff))
        for user in staff:
            have = Task.objects.filter(assignee=user, status=TaskStatus.OPEN, due_on=today).count()
            for n in range(have, TODAY_TASKS_PER_USER):
                title, kind = TASK_TITLES[n % len(TASK_TITLES)]
                task_create(customer=customers[next(picks)], title=title, kind=kind, due_on=today, assignee=user,
                            created_by=user)
