"""Customers and identities: normalisation, uniqueness, masked values, refusals that save nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers.identity import normalize_email, normalize_phone
from guanxi.customers.models import Customer, CustomFieldValue, Identity
from guanxi.customers.services import (
    consent_set, custom_field_create, custom_value_set, customer_create, customer_update, identity_add,
)
from guanxi.workspaces import tenancy
from guanxi.workspaces.services import store_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def store_factory(workspace):
    return lambda name, platform: store_create(workspace=workspace, name=name, platform=platform)


@pytest.mark.parametrize("raw", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "008613812345678",
                                 "'13812345678", "0086 13812345678"])
def test_chinese_mobiles_in_any_spelling_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+8613812345678"


@pytest.mark.parametrize("raw", ["138****5678", "12345", "not a phone", ""])
def test_masked_and_invalid_phones_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_emails_are_lower_cased_and_validated():
    assert normalize_email("  Wang.Fang@Example.COM ") == "wang.fang@example.com"
    with pytest.raises(ValidationError):
        normalize_email("wang@")
    with pytest.raises(ValidationError):
        normalize_email("w***@example.com")


def test_identities_are_stored_normalised_with_their_tail(workspace):
    customer = customer_create(name="王芳", identities=[("phone", "138 1234 5678"), ("email", "WF@Example.com")])
    stored = {(i.kind, i.value, i.tail) for i in customer.identities.all()}
    assert stored == {("phone", "+8613812345678", "5678"), ("email", "wf@example.com", ".com")}


def test_an_invalid_phone_is_a_field_error_and_nothing_is_saved(workspace):
    with pytest.raises(ValidationError) as error:
        customer_create(name="张三", identities=[("email", "z@example.com"), ("phone", "12345")])
    assert "identities" in error.value.message_dict
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0


def test_the_same_phone_cannot_identify_two_customers(workspace):
    customer_create(name="王芳", identities=[("phone", "13812345678")])
    with pytest.raises(ValidationError) as error:
        customer_create(name="另一个王芳", identities=[("phone", "+86 138 1234 5678")])
    assert "already belongs" in " ".join(error.value.message_dict["identities"])
    assert Customer.objects.count() == 1


def test_the_same_phone_may_identify_customers_in_different_workspaces(workspace, other_workspace):
    customer_create(name="王芳", identities=[("phone", "13812345678")])
    with tenancy.active(other_workspace):
        customer_create(name="王芳", identities=[("phone", "13812345678")])
        assert Identity.objects.count() == 1
    assert Identity.objects.count() == 1


def test_a_masked_phone_is_kept_for_display_but_is_no_identity(workspace):
    customer = customer_create(name="李娜", identities=[("phone", "138****5678")])
    customer.refresh_from_db()
    assert customer.display_phone == "138****5678"
    assert customer.identities.count() == 0


def test_store_scoped_ids_need_their_store_and_are_unique_per_store(workspace, store_factory):
    taobao, tmall = store_factory("淘宝店", "taobao"), store_factory("天猫店", "tmall")
    customer = customer_create(name="A")
    with pytest.raises(ValidationError):
        identity_add(customer=customer, kind="taobao_ouid", value="AAAA1111")
    identity_add(customer=customer, kind="taobao_ouid", value="AAAA1111", store=taobao)
    other = customer_create(name="B")
    identity_add(customer=other, kind="taobao_ouid", value="AAAA1111", store=tmall)  # another shop's pseudonym
    with pytest.raises(ValidationError):
        identity_add(customer=other, kind="taobao_ouid", value="AAAA1111", store=taobao)


def test_custom_fields_are_typed(workspace):
    custom_field_create(key="shoe_size", label="鞋码", field_type="number")
    custom_field_create(key="anniversary", label="纪念日", field_type="date")
    custom_field_create(key="style", label="风格", field_type="choice", choices=["简约", "复古"])
    customer = customer_create(name="王芳", custom={"shoe_size": "37.5", "anniversary": "2024-02-14", "style": "复古"})
    values = {v.field.key: v.value for v in CustomFieldValue.objects.filter(customer=customer).select_related("field")}
    assert values == {"shoe_size": Decimal("37.5"), "anniversary": dt.date(2024, 2, 14), "style": "复古"}
    for key, bad in [("shoe_size", "large"), ("anniversary", "14/02/2024"), ("style", "朋克"), ("nope", "x")]:
        with pytest.raises(ValidationError) as error:
            custom_value_set(customer=customer, key=key, value=bad)
        assert key in error.value.message_dict
    custom_value_set(customer=customer, key="style", value="")
    assert CustomFieldValue.objects.filter(customer=customer).count() == 2


def test_consent_records_channel_time_and_source(workspace):
    customer = customer_create(name="王芳")
    at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    consent_set(customer=customer, channel="email", granted=True, source="shopify_export", at=at)
    consent_set(customer=customer, channel="email", granted=False, source="staff")
    consent = customer.consents.get()
    assert (consent.granted, consent.source) == (False, "staff")
    with pytest.raises(ValidationError):
        consent_set(customer=customer, channel="fax", granted=True, source="staff")


def test_profile_updates_validate_and_refuse_unknown_fields(workspace):
    customer = customer_create(name="王芳")
    customer_update(customer=customer, industry="服装", company_size="11-50", gender="female")
    customer.refresh_from_db()
    assert (customer.industry, customer.gender) == ("服装", "female")
    with pytest.raises(ValidationError):
        customer_update(customer=customer, gender="robot")
    with pytest.raises(ValidationError):
        customer_update(customer=customer, workspace_id=999)
