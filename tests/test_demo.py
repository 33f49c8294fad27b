"""The demo tenant: laid down once, never overwriting a tenant's edits, and never on FusionPBX's database
(`serve --demo`, `demo seed`, `scripts/run.sh`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import cli_env, free_port, run_cli
from voice_ai.demo.seed import DemoRefusedError, seed_demo
from voice_ai.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


async def _seed(runtime: Runtime, **kwargs: Any) -> Any:
    async with runtime.sessionmaker() as session, session.begin():
        return await seed_demo(session, **kwargs)


async def test_a_second_seed_keeps_every_edit_of_the_tenant(
    runtime: Runtime, client: httpx.AsyncClient, db: Any
) -> None:
    first = await _seed(runtime)
    assert len(first.to_index) == 2 and first.transfer_rules == 5
    base = f"/api/v1/domains/{first.domain_uuid}"
    edited = await client.patch(
        f"{base}/secretaries/{first.secretary_uuid}",
        json={"greeting": "Bom dia, escritório.", "operator_context": "outro-contexto", "operator_destination": "250"},
    )
    assert edited.status_code == 200, edited.text
    rules = (await client.get(f"{base}/transfer-rules")).json()["items"]
    by_name = {r["department_name"]: r for r in rules}
    assert (await client.patch(
        f"{base}/transfer-rules/{by_name['Financeiro']['voice_transfer_rule_uuid']}",
        json={"destination_context": "financeiro-ctx", "destination_number": "2030"},
    )).status_code == 200  # fmt: skip
    removed = rules[-1]
    assert (await client.delete(f"{base}/transfer-rules/{removed['voice_transfer_rule_uuid']}")).status_code == 204
    documents = (await client.get(f"{base}/documents")).json()["items"]
    assert (await client.delete(f"{base}/documents/{documents[0]['voice_document_uuid']}")).status_code == 204

    again = await _seed(runtime)  # what `serve --demo` does on every start
    assert (again.domain_uuid, again.secretary_uuid) == (first.domain_uuid, first.secretary_uuid)
    secretary = (await client.get(f"{base}/secretaries/{first.secretary_uuid}")).json()
    assert (secretary["greeting"], secretary["operator_context"], secretary["operator_destination"]) == (
        "Bom dia, escritório.",
        "outro-contexto",
        "250",
    )
    rules_after = {r["department_name"]: r for r in (await client.get(f"{base}/transfer-rules")).json()["items"]}
    assert removed["department_name"] not in rules_after and len(rules_after) == 4  # a deletion stays deleted
    assert (rules_after["Financeiro"]["destination_context"], rules_after["Financeiro"]["destination_number"]) == (
        "financeiro-ctx",
        "2030",
    )
    assert (await client.get(f"{base}/documents")).json()["total"] == 1
    assert (await client.get(f"{base}/secretaries")).json()["total"] == 1

    # the demo is laid down again only when its secretary is gone; what exists is still not duplicated
    assert (await client.delete(f"{base}/secretaries/{first.secretary_uuid}")).status_code == 204
    relaid = await _seed(runtime)
    assert relaid.secretary_uuid != first.secretary_uuid
    assert (await client.get(f"{base}/transfer-rules")).json()["total"] == 5
    assert (await client.get(f"{base}/documents")).json()["total"] == 2


async def test_a_demo_document_that_failed_is_not_queued_again_on_every_start(runtime: Runtime, db: Any) -> None:
    """``serve --demo`` seeds on every start: a document still queued is queued again (its job may never have been
    queued), one that failed keeps its reason until its admin re-indexes it, one being processed is its job's."""
    first = await _seed(runtime)
    queued, failed = first.to_index
    await db.execute(
        "UPDATE v_voice_documents SET status = 'failed', error = 'x' WHERE voice_document_uuid = $1", failed
    )
    assert (await _seed(runtime)).to_index == (queued,)
    await db.execute("UPDATE v_voice_documents SET status = 'processing' WHERE voice_document_uuid = $1", queued)
    assert (await _seed(runtime)).to_index == ()


def test_the_indexing_worker_registers_its_exit_hook_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker process pool is re-created after it broke (a task past its budget kills it): the exit hook that
    stops it is registered once, not once per pool."""
    import atexit

    from voice_ai.rag import worker

    hooks: list[Any] = []
    monkeypatch.setattr(atexit, "register", hooks.append)

    class Pool:
        active = False  # as pebble's pool is once it broke

        def __init__(self, **_: Any) -> None:
            pass

        def stop(self) -> None:
            pass

        def join(self, timeout: float) -> None:
            pass

    import pebble

    monkeypatch.setattr(pebble, "ProcessPool", Pool)
    indexer = worker.IndexWorker()
    for _ in range(3):
        indexer._get()
    assert [h for h in hooks if h == indexer.close] == [indexer.close]


async def test_the_seed_refuses_fusionpbx_databases(runtime: Runtime, db: Any) -> None:
    with pytest.raises(DemoRefusedError, match="only for a standalone database"):
        await _seed(runtime, standalone=False)
    assert await db.fetchval("SELECT count(*) FROM v_domains WHERE domain_name = 'demo.localhost'") == 0


async def test_serve_demo_and_demo_seed_refuse_in_fusionpbx_mode(fresh_database: Any, tmp_path: Path) -> None:
    url = await fresh_database()
    env = cli_env(
        VOICE_AI_DATABASE_URL=url,
        VOICE_AI_DATA_DIR=str(tmp_path),
        VOICE_AI_MODE="fusionpbx",
        VOICE_AI_WORKER="false",
    )
    served = run_cli("serve", "--demo", "--port", str(free_port()), env=env)
    assert served.returncode == 1, served.stdout + served.stderr
    assert "the demo tenant is only for a standalone database" in served.stderr
    assert "Unset VOICE_AI_DATABASE_URL" in served.stderr
    seeded = run_cli("demo", "seed", env=env)
    assert seeded.returncode == 1 and "only for a standalone database" in seeded.stderr
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM v_domains") == 0
    finally:
        await conn.close()


def _fake_checkout(tmp_path: Path) -> Path:
    """run.sh with a stub bootstrap and a stub voice-ai that prints its arguments."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    (tmp_path / "scripts" / "bootstrap.sh").write_text("exit 0\n")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    stub = tmp_path / ".venv" / "bin" / "voice-ai"
    stub.write_text('#!/bin/sh\necho "voice-ai $*"\n')
    stub.chmod(0o755)
    return tmp_path


@pytest.mark.parametrize(
    ("environment", "dotenv", "expected"),
    [
        ({}, None, "voice-ai serve --demo --port 8200"),
        ({"VOICE_AI_DATABASE_URL": "postgresql://fusionpbx@127.0.0.1/fusionpbx"}, None, "voice-ai serve --port 8200"),
        ({}, "VOICE_AI_DATABASE_URL=postgresql://fusionpbx@127.0.0.1/fusionpbx\n", "voice-ai serve --port 8200"),
        ({}, "# VOICE_AI_DATABASE_URL=postgresql://x@y/z\nVOICE_AI_PORT=8100\n", "voice-ai serve --demo --port 8200"),
    ],
)
def test_run_sh_passes_demo_only_on_the_embedded_database(
    tmp_path: Path, environment: dict[str, str], dotenv: str | None, expected: str
) -> None:
    checkout = _fake_checkout(tmp_path)
    if dotenv is not None:
        (checkout / ".env").write_text(dotenv)
    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "run.sh"), "--port", "8200"],
        capture_output=True,
        text=True,
        env=cli_env(**environment),
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
    assert ("without the demo tenant" in result.stderr) == ("--demo" not in expected)


async def test_call_on_a_database_without_the_domain_says_how_to_create_the_demo(
    fresh_database: Any, tmp_path: Path
) -> None:
    """A new user's first `voice-ai call`: a clear sentence, not a UUID parsing error, and no log noise."""
    env = cli_env(VOICE_AI_DATABASE_URL=await fresh_database(), VOICE_AI_DATA_DIR=str(tmp_path))
    args = ("call", "--domain", "demo.localhost", "--secretary", "8000", "--text", "Oi")
    quiet = run_cli(*args, env=env)
    assert quiet.returncode == 1, quiet.stdout + quiet.stderr
    assert quiet.stderr.strip() == (
        "error: the domain 'demo.localhost' does not exist in this database; create the demo with "
        "`voice-ai demo seed` (or start `voice-ai serve --demo`)"
    )  # the migrations and the job queue ran, but their INFO lines stay hidden
    assert quiet.stdout == ""
    verbose = run_cli(*args, "-v", env=env)
    assert verbose.returncode == 1 and " INFO " in verbose.stderr  # -v shows them
    other = run_cli("-v", "call", "--domain", "acme.example.com", "--secretary", "8000", "--text", "Oi", env=env)
    assert other.returncode == 1 and "the domain 'acme.example.com' does not exist" in other.stderr
