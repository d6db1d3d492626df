"""The two-sample Kolmogorov-Smirnov test: statistic and asymptotic p-value (as Numerical
Recipes' `kstwo`), so no scipy is needed."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class KSResult:
    statistic: float  # the largest gap between the two empirical distribution functions
    p_value: float  # the chance of a gap this large if both samples came from one distribution


def ks_2samp(a: Sequence[float], b: Sequence[float]) -> KSResult:
    """Compare two non-empty samples."""
    xs, ys = sorted(a), sorted(b)
    n, m = len(xs), len(ys)
    statistic = max(
        abs(bisect.bisect_right(xs, v) / n - bisect.bisect_right(ys, v) / m) for v in (*xs, *ys)
    )
    root = math.sqrt(n * m / (n + m))
    return KSResult(statistic, _kolmogorov_q((root + 0.12 + 0.11 / root) * statistic))


def _kolmogorov_q(lam: float) -> float:
    """Q_KS(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2), clamped to [0, 1]."""
    if lam < 1e-3:
        return 1.0
    total, sign = 0.0, 1.0
    for j in range(1, 101):
        term = sign * 2 * math.exp(-2 * j * j * lam * lam)
        total += term
        if abs(term) < 1e-10:
            return min(1.0, max(0.0, total))
        sign = -sign
    return 1.0  # the series did not converge: lambda is tiny, the samples agree
