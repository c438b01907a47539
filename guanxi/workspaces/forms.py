"""HTTP input for the settings page: stores, members and roles, custom fields."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.commerce.money import PLATFORM_CURRENCY
from guanxi.customers.models import FieldType
from guanxi.workspaces.models import Platform, Role


# Marketplaces that settle in yuan (those the CLI's new stores take CNY for); a store anywhere else (Shopify, an
# own site, offline) sells, by default, in the currency the workspace reports in.
YUAN_PLATFORMS = frozenset(platform for platform, code in PLATFORM_CURRENCY.items() if code == "CNY")


def platform_currency(platform: str, *, reporting_currency: str) -> str:
    """The currency a new store on `platform` most likely sells in (ISO 4217 code)."""
    return "CNY" if platform in YUAN_PLATFORMS else reporting_currency


class StoreForm(forms.Form):
    """A store; a currency left empty becomes its platform's (`platform_currency`), which the page also fills in
    as the owner picks the platform, until they type one themselves."""

    name = forms.CharField(label=_("Store name"), max_length=200)
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3, required=False,
                               help_text=_("Taobao, Tmall and JD: CNY; Shopify and your own site: the reporting "
                                           "currency. Change it if the store sells in another."))

    def __init__(self, *args, reporting_currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.reporting_currency = reporting_currency
        platform = self.initial.get("platform") or Platform.choices[0][0]
        self.initial.setdefault("currency", platform_currency(platform, reporting_currency=reporting_currency))
        self.fields["currency"].widget.attrs["data-platform-currencies"] = json.dumps(
            {value: platform_currency(value, reporting_currency=reporting_currency) for value, _l in Platform.choices})

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("currency") and cleaned.get("platform"):
            cleaned["currency"] = platform_currency(cleaned["platform"], reporting_currency=self.reporting_currency)
        return cleaned


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(
        label=_("Password"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Only for a new user; an existing user keeps their password."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SALES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class CustomFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.SlugField(label=_("Key"), max_length=50, help_text=_("Letters, digits, _ and -; used by imports "
                                                                      "and the API."))
    field_type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    choices = forms.CharField(label=_("Choices"), required=False, help_text=_("For choice fields: separate "
                                                                                "choices with commas."))

    def choice_list(self) -> list[str]:
        raw = self.cleaned_data.get("choices", "").replace("，", ",")
        return [c.strip() for c in raw.split(",") if c.strip()]
