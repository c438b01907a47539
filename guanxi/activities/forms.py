from django import forms
from django.utils.translation import gettext_lazy as _


class TaskCompleteForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=2000, required=False)
