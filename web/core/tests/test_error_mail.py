"""Bad Host headers and 500s never send mail on the request path (issue 15, security 2).

Production settings in a child process (web/core/tests/prodkit.py), SMTP pointed at a local
listener that counts connections and hangs up at once, as an MTA that is down would.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.core.testing import production_env, run_python


@pytest.fixture
def smtp_listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP port that records every connection and closes it without an SMTP greeting."""
    seen: list[str] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            seen.append(f"{addr[0]}:{addr[1]}")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


def test_bad_host_and_500_send_no_mail_with_smtp_down(
    tmp_path: Path, smtp_listener: tuple[int, list[str]]
) -> None:
    port, connections = smtp_listener
    env = production_env(
        tmp_path, HEARTH_SMTP_HOST="127.0.0.1", HEARTH_SMTP_PORT=str(port), HEARTH_LOG_LEVEL="INFO"
    )
    proc = run_python("-m", "web.core.tests.prodkit", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    bad_host, boom = result["bad_host"], result["boom"]

    assert bad_host["status"] == 400, result
    assert bad_host["seconds"] < 2, result
    # Silenced: no traceback for a bad Host (it is noise, not an error of ours).
    assert "DisallowedHost" not in proc.stderr, proc.stderr[-4000:]

    assert boom["status"] == 500, result
    assert "Something went wrong" in boom["body"], result  # our 500.html, not a bare 500
    assert boom["seconds"] < 2, result

    assert connections == [], f"SMTP was attempted on the request path: {connections}"
