"""HTTP input for customer pages. Forms only parse and label input; the services validate and save."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.activities.models import InteractionChannel, InteractionKind, OpportunityStage, TaskKind
from guanxi.customers.models import Channel, Customer, CustomField, FieldType, Gender, IdentityKind, Lifecycle
from guanxi.imports.addresses import country_code
from guanxi.web.forms import DateInput
from guanxi.web.templatetags.guanxi_ui import number, person

PROFILE_FIELDS = (
    "name", "gender", "birthday", "lifecycle_stage", "country", "province", "city", "district", "address", "postcode",
    "company", "industry", "company_size", "business_model", "note",
)


def _member_choices(memberships) -> list[tuple[str, str]]:
    return [("", "—")] + [(str(m.user_id), person(m.user)) for m in memberships]


class CustomerForm(forms.Form):
    """Profile, owner, tags and the workspace's custom fields; on creation also the first contact identities."""

    name = forms.CharField(label=_("Name"), max_length=200)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, required=False)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DateInput())
    lifecycle_stage = forms.ChoiceField(label=_("Lifecycle stage"), choices=Lifecycle.choices,
                                        initial=Lifecycle.POTENTIAL)
    country = forms.CharField(label=_("Country"), max_length=60, required=False,
                              help_text=_("ISO 3166 code, e.g. CN or US."))
    province = forms.CharField(label=_("Province"), max_length=50, required=False)
    city = forms.CharField(label=_("City"), max_length=50, required=False)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    company_size = forms.CharField(label=_("Company size"), max_length=50, required=False)
    business_model = forms.CharField(label=_("Business model"), max_length=100, required=False)
    owner = forms.ChoiceField(label=pgettext_lazy("customer owner", "Owner"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate tags with commas."))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # First identities, only when creating a customer; later ones are added on the customer page.
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    buyer_nick = forms.CharField(label=_("Buyer nick"), max_length=255, required=False)
    wechat_openid = forms.CharField(label=_("WeChat openid"), max_length=255, required=False)

    IDENTITY_FIELDS = {"phone": IdentityKind.PHONE, "email": IdentityKind.EMAIL,
                       "buyer_nick": IdentityKind.BUYER_NICK, "wechat_openid": IdentityKind.WECHAT_OPENID}

    def __init__(self, *args, memberships=(), custom_fields=(), creating: bool, can_see_contact: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _member_choices(memberships)
        self.custom_fields = list(custom_fields)
        for field in self.custom_fields:
            self.fields[f"custom_{field.key}"] = _custom_form_field(field)
        if not creating:
            for name in self.IDENTITY_FIELDS:
                del self.fields[name]
        if not can_see_contact:
            # The street address is masked for this role, so it cannot be shown for editing either.
            del self.fields["address"]
        self.fields["name"].widget.attrs["autofocus"] = True

    @classmethod
    def initial_for(cls, customer: Customer, *, tags, custom_values) -> dict:
        initial = {name: getattr(customer, name) for name in PROFILE_FIELDS}
        initial["owner"] = str(customer.owner_id or "")
        initial["tags"] = ", ".join(tag.name for tag in tags)
        for value in custom_values:
            initial[f"custom_{value.field.key}"] = number(value.value) if isinstance(value.value, Decimal) \
                else value.value
        return initial

    def clean_country(self) -> str:
        code = country_code(self.cleaned_data["country"])
        if code is None:
            raise forms.ValidationError(_("Not a country: use an ISO 3166 code such as CN or US."))
        return code

    def profile(self) -> dict:
        return {name: self.cleaned_data[name] for name in PROFILE_FIELDS if name in self.cleaned_data}

    def identities(self) -> list[tuple[str, str]]:
        return [(kind, self.cleaned_data[name].strip()) for name, kind in self.IDENTITY_FIELDS.items()
                if self.cleaned_data.get(name, "").strip()]

    def tag_names(self) -> list[str]:
        raw = self.cleaned_data.get("tags", "").replace("，", ",")
        return [name.strip() for name in raw.split(",") if name.strip()]

    def custom(self) -> dict:
        return {field.key: self.cleaned_data.get(f"custom_{field.key}") for field in self.custom_fields}

    def custom_field_names(self) -> list[str]:
        return [f"custom_{field.key}" for field in self.custom_fields]


def _custom_form_field(field: CustomField) -> forms.Field:
    if field.field_type == FieldType.NUMBER:
        return forms.DecimalField(label=field.label, required=False, max_digits=18, decimal_places=4)
    if field.field_type == FieldType.DATE:
        return forms.DateField(label=field.label, required=False, widget=DateInput())
    if field.field_type == FieldType.CHOICE:
        return forms.ChoiceField(label=field.label, required=False,
                                 choices=[("", "—")] + [(c, c) for c in field.choices])
    return forms.CharField(label=field.label, required=False, max_length=500)


class IdentityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=IdentityKind.choices)
    value = forms.CharField(label=_("Value"), max_length=255)
    store = forms.ChoiceField(label=_("Store"), required=False,
                              help_text=_("Needed for per-store ids (buyer id, Taobao ouid and OAID)."))

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.stores = {str(store.id): store for store in stores}
        self.fields["store"].choices = [("", "—")] + [(sid, s.name) for sid, s in self.stores.items()]


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    granted = forms.TypedChoiceField(label=_("Consent"), coerce=lambda v: v == "yes",
                                     choices=[("yes", _("Granted")), ("no", _("Withdrawn"))])
    source = forms.CharField(label=_("Source"), max_length=100, initial="staff")


class NoteForm(forms.Form):
    """A note or the key points of a conversation, logged on the customer's timeline."""

    prefix = "note"

    kind = forms.ChoiceField(label=_("Kind"), choices=InteractionKind.choices, initial=InteractionKind.NOTE)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", _("Channel…")), *InteractionChannel.choices],
                                required=False)
    summary = forms.CharField(label=_("Key points"), max_length=300, widget=forms.TextInput(attrs={
        "placeholder": _("Key points of the conversation, e.g. asked about exchanging the size")}))
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={
        "rows": 3, "placeholder": _("Details (optional)")}))


class TaskForm(forms.Form):
    prefix = "task"

    title = forms.CharField(label=_("Follow-up"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=TaskKind.choices, initial=TaskKind.FOLLOW_UP)
    due_on = forms.DateField(label=_("Due"), widget=DateInput())
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    def __init__(self, *args, memberships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _member_choices(memberships)


class OpportunityForm(forms.Form):
    prefix = "opp"

    title = forms.CharField(label=_("Opportunity"), max_length=200)
    stage = forms.ChoiceField(label=_("Stage"), choices=OpportunityStage.choices, initial=OpportunityStage.LEAD)
    value = forms.DecimalField(label=_("Value"), max_digits=14, decimal_places=2, min_value=0, initial=0)
    expected_close = forms.DateField(label=_("Expected close"), required=False, widget=DateInput())


class OpportunityStageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=OpportunityStage.choices)
