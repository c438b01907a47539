"""The shipping address's parts on each order.

Added with ALTER TABLE … ADD COLUMN … DEFAULT '' NOT NULL on both databases: Django's SQLite editor would
rebuild the orders table once per column (five copies of a table of millions of rows, on the first command
after an upgrade, since the CLI applies migrations itself); SQLite and PostgreSQL both add such a column
without rewriting the table.
"""

from django.db import migrations, models

COLUMNS = {"city": 50, "country": 2, "district": 50, "postcode": 20, "province": 50}


def _field(name: str, length: int) -> models.CharField:
    extra = {"help_text": "ISO 3166 code, e.g. CN."} if name == "country" else {}
    return models.CharField(blank=True, default="", max_length=length, verbose_name=name, **extra)


class Migration(migrations.Migration):

    dependencies = [
        ("commerce", "0003_order_number_through_store_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"""ALTER TABLE "commerce_order" ADD COLUMN "{name}" varchar({length}) DEFAULT '' NOT NULL""",
                    f'ALTER TABLE "commerce_order" DROP COLUMN "{name}"',
                )
                for name, length in COLUMNS.items()
            ],
            state_operations=[
                migrations.AddField(model_name="order", name=name, field=_field(name, length))
                for name, length in COLUMNS.items()
            ],
        ),
    ]
