"""The dashboard's KPI range form: a date range (days in the workspace time zone) and, optionally, one store."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.models import Store

MAX_RANGE_DAYS = 3 * 366


def _day_field(label):
    # <input type="date"> takes and sends ISO days whatever the language; a localised format would leave it blank.
    return forms.DateField(label=label, input_formats=["%Y-%m-%d"],
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class KpiRangeForm(forms.Form):
    start = _day_field(_("From"))
    end = _day_field(_("To"))
    store = forms.ModelChoiceField(label=_("Store"), required=False, empty_label=_("All stores"),
                                   queryset=Store.all_workspaces.none())  # set per request in __init__

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.order_by("name")  # the active workspace's stores only

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end is before the start."))
        elif start and end and (end - start).days > MAX_RANGE_DAYS:
            self.add_error("end", _("Choose a range of at most three years."))
        return data
