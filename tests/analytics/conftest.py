"""Shared data for the analytics tests: the real CDNOW files, read once per session."""

from pathlib import Path

import pytest

from guanxi.analytics.readers import read_transactions
from guanxi.analytics.summary import calibration_holdout_summary, customer_summary

DATA = Path(__file__).resolve().parents[2] / "guanxi" / "data" / "cdnow"
MASTER = DATA / "CDNOW_master.txt"
SAMPLE = DATA / "CDNOW_sample.txt"


@pytest.fixture(scope="session")
def master_transactions():
    return read_transactions(MASTER, "cdnow")


@pytest.fixture(scope="session")
def sample_transactions():
    return read_transactions(SAMPLE, "cdnow-sample")


@pytest.fixture(scope="session")
def sample_summary(sample_transactions):
    """FHL's calibration: purchases to 1997-09-30 (week 39), weeks = days / 7, same-day purchases merged."""
    return customer_summary(sample_transactions, as_of="1997-09-30", time_unit="week")


@pytest.fixture(scope="session")
def master_holdout(master_transactions):
    return calibration_holdout_summary(
        master_transactions, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="week"
    )
