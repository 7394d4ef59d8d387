"""`manage.py dashboard_seed --help` documents every option with its default."""

from __future__ import annotations

from web.dashboard.management.commands.dashboard_seed import Command


def test_help_documents_options_and_defaults() -> None:
    text = " ".join(Command().create_parser("manage.py", "dashboard_seed").format_help().split())
    assert "--raw also writes the visits and events" in text
    for option, default in [("--site", "1"), ("--events", "100000"), ("--days", "30"),
                            ("--seed", "1")]:  # fmt: skip
        assert option in text
        assert f"(default: {default})" in text, option
    assert "id of the site to seed (default: 1)" in text
    assert "--no-compact skip rebuilding the day/month rollups" in text
    # Our options come before Django's common ones (--verbosity, --settings, ...).
    assert text.index("--site SITE ") < text.index("--skip-checks ")
