"""A customer's postcode, and whether staff set the address by hand (imports then leave it alone).

Added with ALTER TABLE … ADD COLUMN … DEFAULT … NOT NULL on both databases, which neither rewrites the table for
(Django's SQLite editor would copy the customers table once per column).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0004_workspace_without_single_column_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE "customers_customer" ADD COLUMN "address_set_by_staff" boolean DEFAULT false NOT NULL',
                    'ALTER TABLE "customers_customer" DROP COLUMN "address_set_by_staff"',
                ),
                migrations.RunSQL(
                    """ALTER TABLE "customers_customer" ADD COLUMN "postcode" varchar(20) DEFAULT '' NOT NULL""",
                    'ALTER TABLE "customers_customer" DROP COLUMN "postcode"',
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="customer",
                    name="address_set_by_staff",
                    field=models.BooleanField(default=False, editable=False),
                ),
                migrations.AddField(
                    model_name="customer",
                    name="postcode",
                    field=models.CharField(blank=True, default="", max_length=20, verbose_name="postcode"),
                ),
            ],
        ),
    ]
