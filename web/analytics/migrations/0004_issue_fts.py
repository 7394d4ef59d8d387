"""FTS5 trigram index over issues (SQLite >= 3.34 has the trigram tokenizer; we run 3.40.1).

External-content table: the text lives in analytics_issue, triggers keep the index in step.
"""

from django.db import migrations

FORWARD = [
    """CREATE VIRTUAL TABLE analytics_issue_fts USING fts5(
        type, message, culprit, content='analytics_issue', content_rowid='id',
        tokenize='trigram')""",
    """CREATE TRIGGER analytics_issue_fts_ai AFTER INSERT ON analytics_issue BEGIN
        INSERT INTO analytics_issue_fts(rowid, type, message, culprit)
        VALUES (new.id, new.type, new.message, new.culprit);
    END""",
    """CREATE TRIGGER analytics_issue_fts_ad AFTER DELETE ON analytics_issue BEGIN
        INSERT INTO analytics_issue_fts(analytics_issue_fts, rowid, type, message, culprit)
        VALUES ('delete', old.id, old.type, old.message, old.culprit);
    END""",
    """CREATE TRIGGER analytics_issue_fts_au AFTER UPDATE OF type, message, culprit
        ON analytics_issue BEGIN
        INSERT INTO analytics_issue_fts(analytics_issue_fts, rowid, type, message, culprit)
        VALUES ('delete', old.id, old.type, old.message, old.culprit);
        INSERT INTO analytics_issue_fts(rowid, type, message, culprit)
        VALUES (new.id, new.type, new.message, new.culprit);
    END""",
    "INSERT INTO analytics_issue_fts(analytics_issue_fts) VALUES ('rebuild')",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS analytics_issue_fts_au",
    "DROP TRIGGER IF EXISTS analytics_issue_fts_ad",
    "DROP TRIGGER IF EXISTS analytics_issue_fts_ai",
    "DROP TABLE IF EXISTS analytics_issue_fts",
]


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_enrichment_rollups_issues")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
