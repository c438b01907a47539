"""Column orders of the rows the demo loaders write through `BulkWriter` (one tuple per model).

A column left out here gets its model default (see BulkWriter._defaults).
"""

STAMPED = ("workspace", "created_at", "updated_at")

CUSTOMER = (
    "id", *STAMPED, "name", "name_key", "gender", "birthday", "country", "province", "city", "district", "address",
    "company", "industry", "company_size", "business_model", "display_phone", "lifecycle_stage", "owner", "note",
    "merged_into",
)
IDENTITY = (*STAMPED, "customer", "kind", "value", "tail", "store")
CONSENT = (*STAMPED, "customer", "channel", "granted", "recorded_at", "source")
CUSTOMER_TAG = (*STAMPED, "customer", "tag")
SURVEY_RECORD = (*STAMPED, "customer", "survey", "score", "answers", "taken_at")
ORDER = (
    "id", *STAMPED, "store", "customer", "number", "status", "currency", "goods_amount", "shipping_amount",
    "discount_amount", "paid_amount", "refunded_amount", "placed_at", "paid_at", "shipped_at", "completed_at",
    "closed_at", "receiver_name", "receiver_phone", "receiver_address", "buyer_message",
)
ORDER_LINE = (*STAMPED, "order", "product", "sku", "title", "quantity", "unit_price", "amount", "unit_cost")
SHIPMENT = (*STAMPED, "order", "carrier", "tracking_number", "status", "shipped_at", "delivered_at")
INTERACTION = (*STAMPED, "customer", "kind", "channel", "summary", "body", "occurred_at", "author")
TASK = (*STAMPED, "customer", "title", "kind", "assignee", "due_on", "status", "outcome", "completed_at",
        "created_by")
OPPORTUNITY = (*STAMPED, "customer", "title", "stage", "value", "currency", "expected_close", "owner", "note")
# What an order import and the generated shop write: the shipping address parts too (CDNOW has none: defaults).
ORDER_IMPORTED = (*ORDER, "country", "province", "city", "district", "postcode")
CUSTOMER_IMPORTED = (*CUSTOMER, "postcode")
