"""Evaluation measures: ROC AUC for "will buy again" scores (rank-based, no scikit-learn)."""

from __future__ import annotations

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` with ties given the mean of the ranks they span (as in the Mann-Whitney U)."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start of each run of equal values in sorted order.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]  # exclusive
    run_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 … ends
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(run_rank, ends - starts)
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative, ties
    counting one half (the Mann-Whitney U statistic / (n₊ n₋)).

    ``labels`` are booleans (or 0/1). Raises ValueError when there is no positive or no negative, or a score is
    not finite.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels).astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} differ in shape")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs at least one positive and one negative label")
    ranks = average_ranks(scores)
    u = ranks[labels].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))
