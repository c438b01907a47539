"""`guanxi analytics fit` on the shop exports the importer reads (generic CSV, Shopify, Taobao): the figures
each file must give are counted here straight from the file, and a broken file is refused with its line."""

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from guanxi.cli import main
from guanxi.imports.readers import MONEY_STATUSES

SAMPLES = Path(__file__).resolve().parents[1] / "guanxi" / "data" / "samples"
pytestmark = pytest.mark.django_db  # the command checks the database like every guanxi command
CALIBRATION_END = dt.date(2025, 6, 30)


@pytest.fixture
def generic_export(tmp_path):
    """400 buyers with their own purchase rates over 18 months; one order in 15 closed (no money)."""
    rng = np.random.default_rng(7)
    path = tmp_path / "orders.csv"
    start = dt.date(2024, 7, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["order_number", "customer_id", "created", "status", "amount"])
        number = 0
        for buyer in range(400):
            day = float(rng.integers(0, 200))
            weekly = rng.gamma(0.8, 0.4)
            while day < 540:
                number += 1
                status = "closed" if number % 15 == 0 else "completed"
                when = start + dt.timedelta(days=int(day))
                out.writerow([f"G{number}", f"c{buyer}", f"{when} 12:00:00", status, f"{rng.integers(20, 300)}.00"])
                day += rng.exponential(7 / max(weekly, 1e-3))
    return path


def paid_days(path) -> dict[str, set[dt.date]]:
    """Each buyer's purchase days with money received, read with the csv module."""
    days = defaultdict(set)
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["status"] in MONEY_STATUSES:
                days[row["customer_id"]].add(dt.date.fromisoformat(row["created"][:10]))
    return days


def test_a_generic_export_fits_with_the_holdout_counted_from_the_file(generic_export, capsys):
    code = main(["analytics", "fit", str(generic_export), "--format", "generic",
                 "--calibration-end", str(CALIBRATION_END)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    days = paid_days(generic_export)
    known = {buyer for buyer, seen in days.items() if min(seen) <= CALIBRATION_END}
    assert out["customers"] == len(known)
    repeat_in_holdout = sum(1 for buyer in known for day in days[buyer] if day > CALIBRATION_END)
    assert out["holdout"]["actual_repeat_purchases"] == repeat_in_holdout
    assert out["bgnbd"] is not None and out["bgnbd"]["r"] > 0
    assert 0.5 < out["holdout"]["auc_buy_again"]["guanxi"] <= 1.0


def test_the_shopify_sample_counts_one_customer_per_paying_email(capsys):
    path = SAMPLES / "shopify" / "orders_export_sample.csv"
    code = main(["analytics", "fit", str(path), "--format", "shopify", "--calibration-end", "2030-01-01"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    with open(path, encoding="utf-8") as handle:
        paying = {row["Email"].strip().lower() or row["Billing Name"] for row in csv.DictReader(handle)
                  if row["Financial Status"] in ("paid", "partially_refunded", "refunded")}
    assert out["customers"] == len(paying)
    assert "50 repeat customers" in out["errors"]["bgnbd"]  # a sample this small is refused with the reason


def test_a_broken_export_is_refused_naming_the_line_and_column(generic_export, capsys):
    lines = generic_export.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",twelve"
    generic_export.write_text("\n".join(lines) + "\n")
    code = main(["analytics", "fit", str(generic_export), "--format", "generic",
                 "--calibration-end", str(CALIBRATION_END)])
    assert code == 2
    err = capsys.readouterr().err
    assert "line 6" in err and "amount" in err
