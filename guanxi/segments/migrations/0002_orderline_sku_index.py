"""An index for the rule "bought SKU …": order lines by (workspace, sku).

The commerce app owns OrderLine; the index is created here, in SQL, because only segment rules search lines by
SKU. `IF NOT EXISTS` keeps it harmless should commerce declare the same index later.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0001_initial"),
        ("commerce", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS segments_orderline_sku ON commerce_orderline (workspace_id, sku)",
            reverse_sql="DROP INDEX IF EXISTS segments_orderline_sku",
        ),
    ]
