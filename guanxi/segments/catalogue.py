"""The codes the analytics refresh writes into CustomerScore (rfm_segment, value_class), with their labels.

Rules store codes, never labels, so a rule reads the same in Chinese and English.
"""

from django.utils.translation import gettext_lazy as _

# The 11-segment RFM map.
RFM_SEGMENTS = (
    ("champions", _("Champions")),
    ("loyal", _("Loyal")),
    ("potential_loyalist", _("Potential Loyalist")),
    ("new", _("New")),
    ("promising", _("Promising")),
    ("need_attention", _("Need Attention")),
    ("about_to_sleep", _("About to Sleep")),
    ("at_risk", _("At Risk")),
    ("cant_lose_them", _("Can't Lose Them")),
    ("hibernating", _("Hibernating")),
    ("lost", _("Lost")),
)

# The Chinese 8-class value model: R, F, M each above (重要/high) or below the workspace mean.
VALUE_CLASSES = (
    ("important_value", _("Important value")),
    ("important_development", _("Important development")),
    ("important_retention", _("Important retention")),
    ("important_recovery", _("Important recovery")),
    ("general_value", _("General value")),
    ("general_development", _("General development")),
    ("general_retention", _("General retention")),
    ("general_recovery", _("General recovery")),
)
