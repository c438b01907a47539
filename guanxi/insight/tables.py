"""Moving a workspace's data between the database and `guanxi.analytics`' columnar frames, in bulk.

A refresh reads every paid order and writes one score per customer: ten million and one million rows at the scale
target. Through model instances that alone took minutes (a Decimal and a datetime object per value), so both
directions here are one SQL statement per table: reads come back as CSV through PostgreSQL's `COPY … TO STDOUT`
(or a SQLite cursor in chunks) straight into Polars, with times sent as epoch seconds and turned into the
workspace's calendar days by Polars; writes go out as Polars' CSV through `COPY` (`executemany` on SQLite),
by `BulkWriter.insert_frame`.

The SQL is raw, so it names the active workspace explicitly (`current_workspace()` raises when none is active,
as the tenant managers do).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import io
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
from django.db import connection

from guanxi.analytics import product_table
from guanxi.commerce.models import PAID_STATUSES, Order, OrderLine, Product
from guanxi.commerce.money import workspace_rates
from guanxi.customers.models import Customer
from guanxi.demo.bulk import BulkWriter
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.workspaces.tenancy import current_time_zone, current_workspace, visible_clause

FETCH_ROWS = 50_000  # rows per fetch on SQLite: bounded memory on the Python side

_ORDER_SCHEMA = {"order_id": pl.Int64, "customer_id": pl.Int64, "store_id": pl.Int64, "placed": pl.Int64,
                 "amount": pl.Float64, "refunded": pl.Float64, "currency": pl.Utf8}
_LINE_SCHEMA = {"order_id": pl.Int64, "product_id": pl.Int64, "label": pl.Utf8, "quantity": pl.Int64,
                "amount": pl.Float64, "unit_cost": pl.Float64}
_TRANSACTION_COLUMNS = ["customer_id", "store_id", "date", "amount", "refunded", "cost"]


@dataclass(frozen=True)
class PaidOrders:
    """A workspace's paid orders, as `guanxi.analytics` takes them.

    `transactions`: one row per order — customer_id, store_id, date (calendar day the order was placed, workspace
    time zone), amount (paid), refunded, cost (the lines' known unit cost × quantity; 0 when unknown); sorted by
    customer and date, which Polars' group-bys by customer and the monthly KPIs use (3 s less scoring at ten
    million orders for a 1 s sort).
    `products`: `guanxi.analytics.product_table` of those orders' lines, one row per product (SKU, or the title
    when a line has none), best earners first. (The lines themselves, 14 million rows at the scale target, are
    let go as soon as they are summed.)
    Money is in the reporting currency, each order converted at its day's rate (`guanxi.commerce.money`); orders
    without a rate are left out of both frames, and their currencies listed in `missing_rates`.
    """

    transactions: pl.DataFrame
    products: pl.DataFrame
    missing_rates: tuple[str, ...] = ()


def _epoch(column: str) -> str:
    """SQL for a datetime column as whole seconds since 1970-01-01 UTC."""
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS bigint)"
    # %% because Django's SQLite cursor reads %s as a placeholder; the stored text is UTC.
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _money(column: str) -> str:
    """SQL for a money column as Polars reads it into Float64: PostgreSQL's numeric text parses as it is
    (casting costs the server a third more time at ten million rows); SQLite's values need to be REAL."""
    return column if connection.vendor == "postgresql" else f"CAST({column} AS REAL)"


def select_frame(sql: str, params: list, schema: dict) -> pl.DataFrame:
    """The rows of `sql` as a frame with `schema` (column names and Polars types, in the SELECT's order)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for block in copy:
                    buffer.write(block)
            if not buffer.tell():
                return pl.DataFrame(schema=schema)
            buffer.seek(0)
            return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)
        cursor.execute(sql, params)
        chunks = []
        while rows := cursor.fetchmany(FETCH_ROWS):
            chunks.append(pl.DataFrame(rows, schema=schema, orient="row"))
        return pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)


def table_name(model) -> str:
    """`model`'s table, quoted for raw SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def second_connection_usable() -> bool:
    """Whether work may run on a second connection beside this one: on PostgreSQL outside a transaction.

    Inside a transaction (tests run that way) a second connection would not see its uncommitted rows; on SQLite
    the database works in this process anyway.
    """
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def submit_on_own_connection(pool: ThreadPoolExecutor, function, *args) -> Future:
    """`function(*args)` on `pool`, in the caller's context (its active workspace), on that thread's own
    connection, closed when it returns."""
    context = contextvars.copy_context()

    def run():
        try:
            return context.run(function, *args)
        finally:
            connection.close()  # the worker thread's connection, not the caller's

    return pool.submit(run)


def _select_both(first: tuple, second: tuple) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`select_frame(*first)` and `select_frame(*second)`, at the same time on two connections where usable
    (the server works on both while Python reads them: 30 % less wall time at 10 M orders)."""
    if not second_connection_usable():
        return select_frame(*first), select_frame(*second)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = submit_on_own_connection(pool, select_frame, *second)
        return select_frame(*first), pending.result()


def paid_orders() -> PaidOrders:
    """The active workspace's paid orders and their lines (see `PaidOrders`), two queries.

    Merged-away customers' orders have moved to the customer they now belong to, so they need no special case.
    """
    workspace_id = current_workspace().pk
    statuses = sorted(PAID_STATUSES)
    marks = ", ".join(["%s"] * len(statuses))
    orders_query = (
        f"SELECT id, customer_id, store_id, {_epoch('placed_at')}, {_money('paid_amount')}, "
        f"{_money('refunded_amount')}, currency FROM {table_name(Order)} WHERE workspace_id = %s AND status IN ({marks})"
        f"{visible_clause()}",
        [workspace_id, *statuses], _ORDER_SCHEMA,
    )
    # Every line is read and those of unpaid orders dropped by the join: cheaper than joining orders in SQL.
    # Lines of catalogue products send the product id, not text; the others their SKU, or title without one.
    lines_query = (
        f"SELECT order_id, product_id, CASE WHEN product_id IS NULL THEN CASE WHEN sku = '' THEN title ELSE sku "
        f"END END, quantity, {_money('amount')}, {_money('unit_cost')} FROM {table_name(OrderLine)} "
        "WHERE workspace_id = %s",
        [workspace_id], _LINE_SCHEMA,
    )
    orders, raw_lines = _select_both(orders_query, lines_query)
    rates = workspace_rates()
    orders = orders.with_columns(
        pl.from_epoch("placed", time_unit="s").dt.replace_time_zone("UTC")
        .dt.convert_time_zone(str(current_time_zone())).dt.date().alias("date"),
    ).with_columns(rates.polars_factor().alias("rate"))
    missing = tuple(sorted(orders.filter(pl.col("rate").is_null())["currency"].unique().to_list()))
    orders = orders.filter(pl.col("rate").is_not_null()).with_columns(
        (pl.col("amount") * pl.col("rate")).round(2), (pl.col("refunded") * pl.col("rate")).round(2))
    raw_lines = raw_lines.join(orders.select("order_id", "rate"), on="order_id", how="inner").with_columns(
        pl.col("amount") * pl.col("rate"), pl.col("unit_cost") * pl.col("rate"))
    skus = pl.DataFrame(list(Product.objects.order_by().values_list("id", "sku")), orient="row",
                        schema={"product_id": pl.Int64, "sku": pl.Utf8})
    lines = raw_lines.join(skus, on="product_id", how="left").select(
        "order_id", pl.coalesce("sku", "label").alias("product"), "quantity", "amount",
        (pl.col("unit_cost") * pl.col("quantity")).alias("cost"),
    )
    costs = lines.group_by("order_id").agg(pl.col("cost").sum())  # a null cost adds nothing
    transactions = (
        orders.join(costs, on="order_id", how="left")
        .with_columns(pl.col("cost").fill_null(0.0))
        .select(_TRANSACTION_COLUMNS)
        .sort("customer_id", "date")
    )
    return PaidOrders(transactions=transactions, products=product_table(lines, product="product"),
                      missing_rates=missing)


def paid_order_frame() -> pl.DataFrame:
    """The active workspace's paid orders as a transaction frame (`PaidOrders.transactions`)."""
    return paid_orders().transactions


def customer_ids() -> pl.Series:
    """Ids of the active workspace's customers who have not been merged into another."""
    frame = select_frame(
        f"SELECT id FROM {table_name(Customer)} WHERE workspace_id = %s AND merged_into_id IS NULL{visible_clause()}",
        [current_workspace().pk], {"customer_id": pl.Int64},
    )
    return frame["customer_id"]


def db_datetime(moment: dt.datetime) -> str:
    """An aware datetime as the database's text, to the microsecond (`BulkWriter.format_ts` keeps whole seconds):
    UTC with an offset for PostgreSQL, naive UTC as Django keeps it in SQLite."""
    text = moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text + "+00" if connection.vendor == "postgresql" else text


def _insert(writer: BulkWriter, model, frame: pl.DataFrame, constants: dict) -> None:
    """`frame` (columns named after `model`'s fields) plus the `constants` columns into `model`'s table."""
    frame = frame.with_columns(**{name: pl.lit(value) for name, value in constants.items()})
    writer.insert_frame(model, frame.columns, frame)


def _score_columns(frame: pl.DataFrame) -> dict[str, pl.Expr]:
    """CustomerScore fields as expressions over the analytics result frame (absent columns become null)."""
    def col(name, dtype=pl.Float64):
        return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)

    def money(name):
        return col(name).cast(pl.Float64).round(2)

    return {
        "customer_id": pl.col("customer_id"),
        "recency_days": col("recency_days", pl.Int64).cast(pl.Int64),
        "frequency": col("frequency", pl.Int64).fill_null(0).cast(pl.Int64),
        "monetary": money("monetary").fill_null(0.0),
        "rfm_r": col("r_score", pl.Int64).cast(pl.Int64),
        "rfm_f": col("f_score", pl.Int64).cast(pl.Int64),
        "rfm_m": col("m_score", pl.Int64).cast(pl.Int64),
        "rfm_segment": col("rfm_segment", pl.Utf8).fill_null(""),
        "value_class": col("value_class", pl.Utf8).fill_null(""),
        "value_tier": col("value_tier", pl.Utf8).fill_null(""),
        "gross_profit": money("gross_profit").fill_null(0.0),
        "lifecycle_stage": col("lifecycle_stage", pl.Utf8).fill_null(""),
        "p_alive": col("p_alive"),
        "buy_again": col("buy_again"),
        "expected_purchases_90d": col("expected_purchases_90d"),
        "expected_order_value": money("expected_order_value"),
        "clv": money("clv"),
        "churn_risk": col("churn_risk", pl.Utf8).fill_null(""),
    }


def scores_replace(frame: pl.DataFrame, *, run: AnalyticsRun) -> pl.DataFrame:
    """Replace the active workspace's scores with `frame` and sync each customer's stage; returns the scores as
    stored (CustomerScore field names), for the snapshot.

    `frame` is `customer_insight(...).customers`. The caller holds the transaction: a failure leaves the
    previous scores in place.
    """
    workspace_id, writer = current_workspace().pk, BulkWriter()
    CustomerScore.objects.all().delete()
    scores = frame.select(**_score_columns(frame))
    _insert(writer, CustomerScore, scores,
            {"workspace_id": workspace_id, "run_id": run.pk, "as_of": db_datetime(run.as_of)})
    customers, score_table = table_name(Customer), table_name(CustomerScore)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {customers} SET lifecycle_stage = s.lifecycle_stage FROM {score_table} AS s "
            f"WHERE s.workspace_id = %s AND s.customer_id = {customers}.id AND s.lifecycle_stage <> '' "
            f"AND {customers}.lifecycle_stage <> s.lifecycle_stage",
            [workspace_id],
        )
    writer.analyze_if_grown({CustomerScore: len(frame)})
    return scores


def product_titles() -> dict[str, str]:
    """Each catalogue SKU's title, for naming rows of the product table."""
    return dict(Product.objects.order_by().values_list("sku", "title"))
