"""The columnar history: sealing, merging, crash safety, retention, export."""

from __future__ import annotations

import pytest

from web.analytics.history import engine
from web.analytics.history import services as hs
from web.analytics.models import Event, HistoryState, Segment
from web.analytics.services import events_process_batch
from web.core.testing.events import DAY0, ev

pytestmark = pytest.mark.django_db

H = 3600
T = DAY0 + 10 * H


def run(payloads: list[dict]) -> None:
    events_process_batch(payloads=payloads, now=max(p["ts"] for p in payloads) + 1)


def rows(sql: str = "SELECT seq, kind, path, session_id, entry, source FROM {ev} ORDER BY seq"):
    return engine.run(sql, [], start=None, end=None)


def test_seal_copies_every_event_once_with_its_session_attributes():
    run(
        [
            ev(T, url="https://hearth.test/a?utm_source=nl&utm_campaign=x"),
            ev(T + 5, url="https://hearth.test/b"),
            ev(
                T + 9,
                kind="custom",
                name="signup",
                url="https://hearth.test/b",
                props={"plan": "pro"},
            ),
        ]
    )
    got = hs.history_seal()
    assert got == {"events": 3, "segments": 1}
    assert hs.history_seal() == {"events": 0, "segments": 0}
    out = rows("SELECT kind, path, entry, utm_source, utm_campaign, props FROM {ev} ORDER BY seq")
    assert [r[:5] for r in out] == [
        ("pageview", "/a", "/a", "nl", "x"),
        ("pageview", "/b", "/a", "nl", "x"),
        ("custom", "/b", "/a", "nl", "x"),
    ]
    assert out[2][5] == {"plan": "pro"}
    assert HistoryState.objects.get().sealed_seq == Event.objects.order_by("-id").first().id


def _visit(t: float, ip: str, path: str = "/a", n: int = 2) -> list[dict]:
    return [ev(t + i, url=f"https://hearth.test{path}{i}", ip=ip) for i in range(n)]


def test_merge_keeps_every_row_once_and_readers_see_the_same(monkeypatch):
    monkeypatch.setattr(hs, "FANOUT", 3)
    for i in range(7):
        run(_visit(T + i * 60, ip=f"81.2.69.{i + 1}"))
        hs.history_seal()
    before = rows()
    assert Segment.objects.count() == 7
    assert hs.history_compact() == {"merged": 7}  # a level's whole run merges at once
    assert list(Segment.objects.values_list("level", flat=True)) == [1]
    for i in range(2):
        run(_visit(T + 600 + i * 60, ip=f"81.2.70.{i + 1}"))
        hs.history_seal()
    assert hs.history_compact() == {}  # two level-0 segments after a level-1 one: too few
    assert list(Segment.objects.order_by("min_seq").values_list("level", flat=True)) == [1, 0, 0]
    before = rows()
    assert rows() == before
    assert len(before) == len({r[0] for r in before}) == 18


def test_a_crash_after_writing_a_file_but_before_its_commit_doubles_nothing(monkeypatch):
    run(_visit(T, ip="81.2.69.1"))
    hs.history_seal()
    run(_visit(T + 60, ip="81.2.69.2"))

    def crash(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(hs, "_insert_segment", crash)
    with pytest.raises(hs.HistoryError):
        hs.history_seal()
    monkeypatch.undo()
    # The crashed seal left nothing behind in the catalog; sealing again takes the events.
    assert len(rows()) == 2
    assert hs.history_seal()["events"] == 2
    assert len(rows()) == 4


def test_an_orphan_file_is_never_read_and_gc_deletes_it(history_dir):
    run(_visit(T, ip="81.2.69.1"))
    hs.history_seal()
    seg = Segment.objects.get()
    orphan = history_dir / ("L0-" + seg.name[3:-8] + "dead.parquet")
    orphan.write_bytes((history_dir / seg.name).read_bytes())  # same rows, no catalog row
    assert len(rows()) == 2
    assert hs.history_gc(grace_s=3600) == {"deleted_files": 0}  # too young: a reader may open it
    assert hs.history_gc(grace_s=0) == {"deleted_files": 1}
    assert not orphan.exists() and (history_dir / seg.name).exists()


def test_retention_removes_raw_rows_only_once_sealed():
    from web.analytics.services import analytics_retention

    run(_visit(T, ip="81.2.69.1"))
    later = T + 10 * 86400
    analytics_retention(days=5, now=later)
    assert Event.objects.count() == 2  # not sealed yet: kept
    hs.history_seal()
    analytics_retention(days=5, now=later)
    assert Event.objects.count() == 0
    assert len(rows()) == 2  # the history keeps them


def test_history_retention_and_site_deletion_rewrite_segments(settings):
    import dataclasses

    from web.analytics.models import Site

    Site.objects.create(pk=2, name="b", domains=["b.test"])
    run(_visit(T, ip="81.2.69.1") + _visit(T + 86400, ip="81.2.69.2"))
    run([ev(T + 86400 + 5, url="https://b.test/x", site=2)])
    hs.history_seal()
    assert hs.history_delete_site(site_id=2) == {"history_rows_deleted": 1}
    assert {r[0] for r in rows("SELECT DISTINCT site_id FROM {ev}")} == {1}
    settings.ENV = dataclasses.replace(settings.ENV, analytics_history_days=1)
    got = hs.history_retention(now=T + 2 * 86400 - 1)
    assert got == {"history_rows_deleted": 2}
    assert len(rows()) == 2


def test_export_writes_parquet_and_csv_of_a_range(tmp_path):
    import csv as csvmod

    import duckdb

    run(_visit(T, ip="81.2.69.1") + _visit(T + 86400, ip="81.2.69.2", n=3))
    hs.history_seal()
    from datetime import UTC, datetime

    day1 = datetime.fromtimestamp(T + 86400, UTC).replace(hour=0)
    n = hs.history_export(path=tmp_path / "x.parquet", start=day1, end=day1.replace(hour=23))
    assert n == 3
    got = duckdb.sql(f"SELECT count(*), min(path) FROM '{tmp_path / 'x.parquet'}'").fetchall()[0]
    assert got == (3, "/a0")
    hs.history_export(path=tmp_path / "x.csv", start=day1, end=day1.replace(hour=23), fmt="csv")
    with open(tmp_path / "x.csv") as fh:
        lines = list(csvmod.DictReader(fh))
    assert [r["path"] for r in lines] == ["/a0", "/a1", "/a2"] and lines[0]["props"] == "{}"


def test_upload_then_restore_brings_segments_back_from_the_bucket(live_env, s3_server, history_dir):
    import shutil

    run(_visit(T, ip="81.2.69.1"))
    hs.history_seal()
    run(_visit(T + 60, ip="81.2.69.2"))
    hs.history_seal()
    client = s3_server.client()
    assert hs.history_upload(client=client)["uploaded"] == 2
    names = set(Segment.objects.values_list("name", flat=True))
    keys = {
        o["Key"]
        for o in client.list_objects_v2(Bucket=live_env.bucket_backup, Prefix="history/")[
            "Contents"
        ]
    }
    assert {f"history/{n}" for n in names} <= keys
    run(_visit(T + 120, ip="81.2.69.3"))
    hs.history_seal()  # sealed, not uploaded: lost with the disk, sealed again from data.db
    before = rows()
    shutil.rmtree(history_dir)
    got = hs.history_restore(client=client)
    assert got == {"downloaded": 2, "dropped": 1}
    assert len(rows()) == 4
    hs.history_seal()
    assert rows() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_deleting_a_site_removes_its_events_from_the_history(history_dir):
    from web.analytics.models import Site

    Site.objects.create(pk=3, name="c", domains=["c.test"])
    run([*_visit(T, ip="81.2.69.1"), ev(T + 3, url="https://c.test/x", site=3)])
    hs.history_seal()
    assert {r[0] for r in rows("SELECT DISTINCT site_id FROM {ev}")} == {1, 3}
    Site.objects.get(pk=3).delete()
    assert {r[0] for r in rows("SELECT DISTINCT site_id FROM {ev}")} == {1}


def test_docs_sql_example(tmp_path, monkeypatch):
    """analytics.md's "SQL over your own analytics": the export command and the query."""
    import re

    import duckdb
    from django.core.management import call_command

    from web.env import REPO_ROOT

    doc = (REPO_ROOT / "docs/architecture/analytics.md").read_text()
    block = doc.split("### SQL over your own analytics", 1)[1].split("```sh", 1)[1]
    export_line = block.splitlines()[1]
    sql = re.search(r'\\"\\"\\"(.*?)\\"\\"\\"', block, re.S).group(1)
    run(_visit(T, ip="85.214.132.117", path="/docs", n=3))  # a German address
    run(_visit(T, ip="81.2.69.1", path="/uk", n=2))
    hs.history_seal()
    argv = export_line.split("manage.py ", 1)[1].split()
    assert argv[:5] == ["analytics_export", "--from", "2026-11-01", "--to", "2026-11-30"]
    monkeypatch.chdir(tmp_path)
    call_command(*argv)
    got = sorted(duckdb.sql(sql).fetchall())  # ties in views come in any order
    assert got == [("/docs0", 1, 1), ("/docs1", 1, 1), ("/docs2", 1, 1)]


def test_a_missing_visit_partials_file_is_rebuilt_by_the_first_query(history_dir):
    from web.analytics.history import schema
    from web.dashboard import selectors as sel

    run(_visit(T, ip="81.2.69.1", n=3))
    hs.history_seal()
    seg = Segment.objects.get()
    q = sel.parse_query(1, {"range": "custom", "from": "2026-11-20", "to": "2026-11-20",
                            "country": "GB"})  # fmt: skip
    before = sel.top_stats(q)
    (history_dir / schema.visits_name(seg.name)).unlink()  # as after a restore
    assert sel.top_stats(q) == before and before["visits"] == 1 and before["pageviews"] == 3
    assert (history_dir / schema.visits_name(seg.name)).exists()
