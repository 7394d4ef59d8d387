"""Analytics domain: sites, enrichment, sessions, rollups, error issues."""
