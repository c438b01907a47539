"""Customers and identities without the single-column workspace index: the (workspace, …) indexes serve every
search by workspace, and each index costs every row written (an import writes millions). Only the indexes are
dropped: the foreign keys stay, so nothing scans a large table."""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = [  # (index, table, column), named as Django named them in 0001
    ("customers_customer_workspace_id_9c4ede06", "customers_customer", "workspace_id"),
    ("customers_identity_workspace_id_6fb47481", "customers_identity", "workspace_id"),
]


class Migration(migrations.Migration):

    dependencies = [
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
                    model_name="customer",
                    name="workspace",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="workspaces.workspace"),
                ),
                migrations.AlterField(
                    model_name="identity",
                    name="workspace",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="workspaces.workspace"),
                ),
            ],
        ),
    ]
