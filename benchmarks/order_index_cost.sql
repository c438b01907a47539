-- What PostgreSQL's share of an order import costs, index by index: the orders of the workspace with the most
-- orders, copied server-side (INSERT … SELECT: no client, no parsing) into scratch tables with no index, the
-- primary key only, every index commerce_order has, and every index but (customer, placed_at).
--     psql -h 127.0.0.1 guanxi_impbench -f benchmarks/order_index_cost.sql
-- (after benchmarks/import_orders.py has filled that database). Prints each INSERT's time; drops what it made.
\timing on
CREATE TEMP TABLE src AS SELECT * FROM commerce_order
    WHERE workspace_id = (SELECT workspace_id FROM commerce_order GROUP BY 1 ORDER BY count(*) DESC LIMIT 1);
SELECT count(*) AS orders FROM src;
CREATE TABLE bench_no_index (LIKE commerce_order INCLUDING DEFAULTS);
CREATE TABLE bench_primary_key (LIKE commerce_order INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench_primary_key ADD PRIMARY KEY (id);
CREATE TABLE bench_all_indexes (LIKE commerce_order INCLUDING ALL);
CREATE TABLE bench_all_but_customer (LIKE commerce_order INCLUDING ALL);
DROP INDEX IF EXISTS bench_all_but_customer_customer_id_placed_at_idx;
\echo no index
INSERT INTO bench_no_index SELECT * FROM src;
\echo primary key
INSERT INTO bench_primary_key SELECT * FROM src;
\echo every index
INSERT INTO bench_all_indexes SELECT * FROM src;
\echo every index but (customer, placed_at)
INSERT INTO bench_all_but_customer SELECT * FROM src;
DROP TABLE bench_no_index, bench_primary_key, bench_all_indexes, bench_all_but_customer;
