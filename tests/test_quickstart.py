"""The README's run path, for real: `voice-ai serve --demo` on the embedded PostgreSQL, in a subprocess."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from helpers import VOICE_AI, cli_env, free_port, run_cli, wait_http

pytestmark = pytest.mark.slow


def test_serve_demo_on_embedded_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(VOICE_AI_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(
        [VOICE_AI, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"{base}/ready", proc)
        domains = httpx.get(f"{base}/api/v1/domains", params={"name": "demo.localhost"}).json()
        assert domains["total"] == 1
        domain = domains["items"][0]["domain_uuid"]
        secretaries = httpx.get(f"{base}/api/v1/domains/{domain}/secretaries").json()["items"]
        assert [(s["name"], s["extension"], s["company_name"]) for s in secretaries] == [
            ("Secretária Virtual", "8000", "Contabilidade Exata Ltda")
        ]
        rules = httpx.get(f"{base}/api/v1/domains/{domain}/transfer-rules").json()["items"]
        assert sorted(r["destination_number"] for r in rules) == ["200", "201", "202", "203", "204"]
        deadline = time.monotonic() + 90  # the demo documents are indexed by the background worker
        while {d["status"] for d in httpx.get(f"{base}/api/v1/domains/{domain}/documents").json()["items"]} != {
            "ready"
        }:
            assert time.monotonic() < deadline, "demo documents not indexed"
            time.sleep(0.3)
        reply = httpx.post(
            f"{base}/api/v1/calls/{'q1'}/turns", data={"domain_uuid": domain, "text": "Posso pagar com Pix?"}
        )
        assert reply.status_code == 404  # no such call yet: calls start with POST /api/v1/calls
        started = httpx.post(
            f"{base}/api/v1/calls", json={"domain_uuid": domain, "secretary": "8000", "call_uuid": "q1"}
        )
        assert started.status_code == 201
        reply = httpx.post(
            f"{base}/api/v1/calls/q1/turns", data={"domain_uuid": domain, "text": "Posso pagar com Pix?"}, timeout=60
        )
        assert "Pix" in reply.json()["response_text"]

        # seeding again from another process (joining the same embedded server) changes nothing
        again = run_cli("demo", "seed", env=env)
        assert again.returncode == 0, again.stderr
        assert domain in again.stdout
        assert httpx.get(f"{base}/api/v1/domains/{domain}/transfer-rules").json()["total"] == 5
        assert httpx.get(f"{base}/api/v1/domains/{domain}/secretaries").json()["total"] == 1
        assert stat.S_IMODE(os.stat(data_dir / "secret.key").st_mode) == 0o600
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert f"demo domain: demo.localhost ({domain})" in output
    assert f"curl -s {base}/api/v1/domains/{domain}/secretaries" in output
    # the embedded PostgreSQL was stopped with the service
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


@pytest.mark.parametrize("marker", ["pgdata", "pgdata/postmaster.pid"])
def test_sigterm_while_starting_leaves_no_database_running(tmp_path: Path, marker: str) -> None:
    """systemd may stop the service while the embedded database is still starting or migrating."""
    import psutil

    data_dir = tmp_path / "var"
    proc = subprocess.Popen(
        [VOICE_AI, "serve", "--demo", "--port", str(free_port())],
        env=cli_env(VOICE_AI_DATA_DIR=str(data_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (data_dir / marker).exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the service never reached that point"
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), output
    time.sleep(0.5)
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and str(data_dir) in " ".join(p.info["cmdline"])
    ]
    assert leftovers == []


def test_cli_ingest_with_progress(tmp_path: Path) -> None:
    from voice_ai.demo.seed import document_paths

    env = cli_env(VOICE_AI_DATA_DIR=str(tmp_path / "var"), COLUMNS="200")
    seeded = run_cli("demo", "seed", env=env)
    assert seeded.returncode == 0 and "documents indexed: 2" in seeded.stdout
    faq = tmp_path / "faq.md"
    faq.write_text("# Perguntas\n\n## Estacionamento\n\nHá vagas para clientes.\n", encoding="utf-8")
    result = run_cli("ingest", str(faq), "--domain", "demo.localhost", env=env)
    assert result.returncode == 0, result.stderr
    assert "faq.md: 1 chunks" in result.stdout
    again = run_cli("ingest", str(faq), *[str(p) for p in document_paths()], "--domain", "demo.localhost", env=env)
    assert again.returncode == 0 and again.stdout.count("already uploaded") == 3
    missing = run_cli("ingest", str(faq), "--domain", "nowhere.example.com", env=env)
    assert missing.returncode == 1 and "the domain 'nowhere.example.com' does not exist" in missing.stderr
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    refused = run_cli("ingest", str(bad), "--domain", "demo.localhost", env=env)
    assert refused.returncode == 1 and "unsupported document type" in refused.stdout


def test_call_simulator(tmp_path: Path) -> None:

    env = cli_env(VOICE_AI_DATA_DIR=str(tmp_path / "var"), COLUMNS="200")
    assert run_cli("demo", "seed", env=env).returncode == 0  # seeds and indexes the demo documents
    result = run_cli(
        "call", "--domain", "demo.localhost", "--secretary", "8000",
        "--text", "Posso pagar com Pix?", "--text", "Preciso da segunda via do meu boleto", "--text", "nunca chega aqui",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("secretary: Olá! Você ligou para a Contabilidade Exata")
    assert any("Pix" in line and line.startswith("secretary:") for line in lines)
    assert any("[transfer → 203 (Financeiro)]" in line for line in lines)
    assert "nunca chega aqui" not in result.stdout  # the call was transferred before that turn
    assert lines[-1].startswith("call ended: transferred")
