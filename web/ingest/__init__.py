"""Ingest: the lean request path that validates beacons and publishes them."""
