#!/bin/sh
# Every benchmark, one after the other, on one database: generate the demo workspace, then time the web pages.
#
#   benchmarks/run_all.sh
#       100,000 customers / 1,000,000 orders into a fresh SQLite database in a new temporary GUANXI_HOME
#   GUANXI_DATABASE_URL=postgres://root@127.0.0.1:5432/guanxi_bench GUANXI_HOME=/tmp/gx-bench \
#   CUSTOMERS=1000000 ORDERS=10000000 benchmarks/run_all.sh
#       the scale target on PostgreSQL (the database is created when missing; a store already generated is kept)
#
# PYTHON (default .venv/bin/python), REQUESTS (per page, default 200) can be set too. Runs at nice 10: the machine
# is shared.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
CUSTOMERS=${CUSTOMERS:-100000}
ORDERS=${ORDERS:-1000000}
REQUESTS=${REQUESTS:-200}
if [ -z "${GUANXI_HOME:-}" ]; then
    GUANXI_HOME=$(mktemp -d "${TMPDIR:-/tmp}/guanxi-bench.XXXXXX")
    export GUANXI_HOME
    echo "GUANXI_HOME=$GUANXI_HOME"
fi
nice -n 10 "$PYTHON" benchmarks/generate.py --customers "$CUSTOMERS" --orders "$ORDERS"
nice -n 10 "$PYTHON" benchmarks/web.py --requests "$REQUESTS"
