"""Exports of recorded runs in the formats other tools read (OpenMetrics, ...)."""
