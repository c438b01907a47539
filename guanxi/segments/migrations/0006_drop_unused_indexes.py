"""Indexes 0002 and 0003 made on other apps' tables for rules that now read segments' own tables (purchases from
CustomerPurchase, the CLV threshold from CustomerFacts): they only slowed imports and analytics refreshes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0005_purchases_and_scores"),
    ]

    operations = [
        migrations.RunSQL(
            sql="DROP INDEX IF EXISTS segments_orderline_sku",
            reverse_sql="CREATE INDEX IF NOT EXISTS segments_orderline_sku ON commerce_orderline (workspace_id, sku)",
        ),
        migrations.RunSQL(
            sql="DROP INDEX IF EXISTS segments_score_clv",
            reverse_sql="CREATE INDEX IF NOT EXISTS segments_score_clv ON insight_customerscore (workspace_id, clv) "
                        "WHERE clv IS NOT NULL",
        ),
    ]
