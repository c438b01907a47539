"""HTTP input for the settings page: stores, members and roles, custom fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import FieldType
from guanxi.workspaces.models import Platform, Role


class StoreForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=200)
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3, initial="CNY")

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


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
