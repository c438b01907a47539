"""Indexes for the rules every segment count runs, on tables other apps own (created here in SQL because only
segment rules need them; `IF NOT EXISTS` keeps them harmless should those apps declare the same later).

- customers that can be members (not merged away), by workspace: counts read this narrow index instead of the
  whole customer table;
- analytics scores by CLV, for "top N percent by CLV" (the threshold is found by walking this index).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0002_orderline_sku_index"),
        ("customers", "0002_search_prefix_indexes"),
        ("insight", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS segments_customer_live ON customers_customer (workspace_id, id) "
                "WHERE merged_into_id IS NULL",
            reverse_sql="DROP INDEX IF EXISTS segments_customer_live",
        ),
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS segments_score_clv ON insight_customerscore (workspace_id, clv) "
                "WHERE clv IS NOT NULL",
            reverse_sql="DROP INDEX IF EXISTS segments_score_clv",
        ),
    ]
