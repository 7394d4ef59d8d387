"""Admin analytics panel, realtime view, stats API, alerts and reports."""
