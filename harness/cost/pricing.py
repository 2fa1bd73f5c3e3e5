"""Prices from the catalog, as the cost package offers them (harness.pricing holds them, a
foundation, so the EMR emulation's fleet allocation can price pools too)."""

from harness.pricing import HourlyPrice, SpotTerms, billing, hourly_price, regions, spot_terms

__all__ = ["HourlyPrice", "SpotTerms", "billing", "hourly_price", "regions", "spot_terms"]
