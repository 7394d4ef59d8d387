"""Hearth's Django project: settings, routing and one app per bounded context."""
