"""Orders and shipments without the single-column indexes Django makes for foreign keys where a composite index
starts with the same column: (workspace, number) / (workspace, placed_at), (store, number), (customer, placed_at)
and (workspace, tracking_number) serve every search by them, and each index costs every row written (an import
writes millions). Only the indexes are dropped: the foreign keys stay, so nothing scans a large table."""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = [  # (index, table, column), named as Django named them in 0001
    ("commerce_order_customer_id_9af2ddae", "commerce_order", "customer_id"),
    ("commerce_order_store_id_f48d4b4e", "commerce_order", "store_id"),
    ("commerce_order_workspace_id_ece4d46f", "commerce_order", "workspace_id"),
    ("commerce_shipment_workspace_id_844013ec", "commerce_shipment", "workspace_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("commerce", "0001_initial"),
        ("customers", "0003_customer_merge"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{index}"',
                                  reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")')
                for index, table, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="orders", to="customers.customer"),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="store",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="orders", to="workspaces.store"),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="workspace",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="workspaces.workspace"),
                ),
                migrations.AlterField(
                    model_name="shipment",
                    name="workspace",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="workspaces.workspace"),
                ),
            ],
        ),
    ]
