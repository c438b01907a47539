"""Data and clients for the web UI tests (tests/test_web*.py, tests/test_browser.py).

Everything is made through the real services. `build_shop` gives a workspace a store, customers with
identities, orders with lines and shipments, a note, a follow-up, an opportunity and a custom field.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

from django.test import Client

from guanxi.activities.services import interaction_log, opportunity_create, task_create
from guanxi.commerce.services import order_create
from guanxi.customers.services import consent_set, custom_field_create, customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Membership, Role
from guanxi.workspaces.services import store_create
from guanxi.workspaces.tenancy import workspace_today

UTC = dt.timezone.utc
ROLES = [Role.OWNER, Role.SALES, Role.SERVICE, Role.MARKETING, Role.ANALYST]
WRITERS = [Role.OWNER, Role.SALES, Role.SERVICE, Role.MARKETING]
NON_OWNERS = [Role.SALES, Role.SERVICE, Role.MARKETING, Role.ANALYST]
SEE_CONTACT = {Role.OWNER, Role.SALES, Role.SERVICE}


@dataclasses.dataclass
class Shop:
    workspace: object
    store: object
    customer: object  # 王芳, phone 138 1234 5678, with orders, a note, a follow-up and an opportunity
    order: object
    interaction: object
    task: object
    opportunity: object
    field: object
    identity: object
    membership: object
    customers: list


def build_shop(workspace, *, owner, customers: int = 1, orders_per_customer: int = 1, phone_prefix: str = "138",
               name: str = "王芳", order_prefix: str = "1930") -> Shop:
    """A realistic little shop in `workspace` (activated here, so it works for any workspace)."""
    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name=f"{workspace.slug} 淘宝店", platform="taobao")
        field = custom_field_create(key="shoe_size", label="鞋码", field_type="number")
        made = []
        for n in range(customers):
            customer = customer_create(
                name=name if n == 0 else f"{name}{n}",
                identities=[("phone", f"{phone_prefix}{n:04d}5678"[:11] if n else f"{phone_prefix}12345678"),
                            ("email", f"buyer{n}@{workspace.slug}.example"),
                            ("buyer_nick", f"{workspace.slug}_nick_{n}")],
                tags=["VIP", f"批次{n % 3}"], custom={"shoe_size": 38 + n % 5},
                province="浙江省", city="杭州市", address="浙江省杭州市西湖区文三路90号",
                company="杭州某某贸易", industry="服装",
            )
            consent_set(customer=customer, channel="sms", granted=True, source="staff")
            for k in range(orders_per_customer):
                order_create(
                    store=store, customer=customer, number=f"{order_prefix}{n:05d}{k:04d}", status="completed",
                    placed_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC) - dt.timedelta(days=k),
                    paid_amount=Decimal("199.00"), goods_amount=Decimal("199.00"),
                    receiver_name="王芳", receiver_phone="13812345678",
                    receiver_address="浙江省杭州市西湖区文三路90号",
                    lines=[{"sku": "SHOE-1", "title": "情侣鞋", "quantity": 1, "unit_price": Decimal("149.00")},
                           {"sku": "SOCK-2", "title": "袜子", "quantity": 2, "unit_price": Decimal("25.00")}],
                    shipments=[{"carrier": "顺丰速运", "tracking_number": f"SF{n}{k}", "status": "delivered",
                                "delivered_at": dt.datetime(2026, 3, 3, 10, tzinfo=UTC)}],
                )
            made.append(customer)
        first = made[0]
        interaction = interaction_log(customer=first, summary="问了尺码换货", kind="conversation",
                                      channel="wangwang", author=owner)
        task = task_create(customer=first, title="回访：鞋子合脚吗", due_on=workspace_today(), assignee=owner)
        opportunity = opportunity_create(customer=first, title="公司团购 50 双", value=Decimal("5000"), owner=owner)
        order = first.orders.order_by("id").first()
        identity = first.identities.order_by("id").first()
        membership = Membership.objects.get(user=owner)
    return Shop(workspace=workspace, store=store, customer=first, order=order, interaction=interaction, task=task,
                opportunity=opportunity, field=field, identity=identity, membership=membership, customers=made)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
