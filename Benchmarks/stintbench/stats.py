"""Medians and spreads of samples."""

import statistics


def percentile(samples, fraction):
    """Return the `fraction` percentile of `samples` with linear interpolation between ranks."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def summarize(samples):
    """Return median, min, max, p10, p90 and the sample count."""
    return {
        "median": statistics.median(samples) if samples else float("nan"),
        "min": min(samples) if samples else float("nan"),
        "max": max(samples) if samples else float("nan"),
        "p10": percentile(samples, 0.10),
        "p90": percentile(samples, 0.90),
        "count": len(samples),
    }
