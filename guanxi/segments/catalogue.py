"""The codes the analytics refresh writes into CustomerScore (rfm_segment, value_class), with their labels.

The codes are those of guanxi.analytics.rfm (a test keeps the two lists equal); the labels here are translated
with the rest of the UI.

Rules store codes, never labels, so a rule reads the same in Chinese and English. Labels carry a context
("RFM segment", "value class"): "Lost" here is a customer, not a lost opportunity.
"""

from django.utils.translation import pgettext_lazy

# The 11-segment RFM map.
RFM_SEGMENTS = (
    ("champions", pgettext_lazy("RFM segment", "Champions")),
    ("loyal", pgettext_lazy("RFM segment", "Loyal")),
    ("potential_loyalist", pgettext_lazy("RFM segment", "Potential Loyalist")),
    ("new", pgettext_lazy("RFM segment", "New")),
    ("promising", pgettext_lazy("RFM segment", "Promising")),
    ("need_attention", pgettext_lazy("RFM segment", "Need Attention")),
    ("about_to_sleep", pgettext_lazy("RFM segment", "About to Sleep")),
    ("at_risk", pgettext_lazy("RFM segment", "At Risk")),
    ("cant_lose_them", pgettext_lazy("RFM segment", "Can't Lose Them")),
    ("hibernating", pgettext_lazy("RFM segment", "Hibernating")),
    ("lost", pgettext_lazy("RFM segment", "Lost")),
)

# The Chinese 8-class value model: R, F, M each above (重要/high) or below the workspace mean.
VALUE_CLASSES = (
    ("important_value", pgettext_lazy("value class", "Important value")),
    ("important_develop", pgettext_lazy("value class", "Important to develop")),
    ("important_keep", pgettext_lazy("value class", "Important to keep")),
    ("important_win_back", pgettext_lazy("value class", "Important to win back")),
    ("general_value", pgettext_lazy("value class", "General value")),
    ("general_develop", pgettext_lazy("value class", "General to develop")),
    ("general_keep", pgettext_lazy("value class", "General to keep")),
    ("general_win_back", pgettext_lazy("value class", "General to win back")),
)
