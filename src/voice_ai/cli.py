"""The ``voice-ai`` command: serve, database migrations, demo data."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError

from voice_ai import __version__, jobs
from voice_ai.core.config import Settings, get_settings
from voice_ai.core.crypto import SecretKeyError
from voice_ai.core.errors import ServiceError
from voice_ai.core.logging import configure_logging
from voice_ai.core.security import UnsafeBindError, check_bind
from voice_ai.db.embedded import EmbeddedDatabaseError
from voice_ai.db.migrate import MigrationError
from voice_ai.runtime import DatabaseStartError, Runtime

# Plain tracebacks: the pretty ones print local variables, which may hold secrets.
app = typer.Typer(
    help="Voice AI IVR: AI virtual secretary for FreeSWITCH/FusionPBX.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo tenant.", no_args_is_help=True)
freeswitch_app = typer.Typer(
    help="FreeSWITCH/FusionPBX: install the Lua call flow, render dialplan.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(freeswitch_app, name="freeswitch")

T = TypeVar("T")
_OPERATOR_ERRORS = (
    MigrationError,
    EmbeddedDatabaseError,
    DatabaseStartError,
    SecretKeyError,
    ServiceError,
    UnsafeBindError,
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


# Short commands keep the terminal for what the user asked: logs go to stderr at WARNING unless -v (or an
# explicit VOICE_AI_LOG_LEVEL). Servers (serve, worker) log at VOICE_AI_LOG_LEVEL (INFO by default).
_verbosity: dict[str, bool] = {"verbose": False}
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show the service's log lines (INFO) on stderr")]


@app.callback()
def _main(verbose: Verbose = False) -> None:
    """Voice AI IVR: AI virtual secretary for FreeSWITCH/FusionPBX."""
    _verbosity["verbose"] = verbose


def _load_settings(*, server: bool = False, verbose: bool = False, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from the environment, a configuration mistake printed as one clear line."""
    # SIGTERM (systemd, kill) behaves like Ctrl-C: the embedded database is stopped on the way out,
    # even while it is still starting. uvicorn installs its own handlers once serving.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        settings = get_settings(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"VOICE_AI_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise _fail(f"invalid configuration: {problems}") from None
    chosen = server or "log_level" in settings.model_fields_set
    verbose = verbose or _verbosity["verbose"]
    configure_logging(settings.log_level if chosen else "INFO" if verbose else "WARNING")
    return settings


def _run(coro_factory: Callable[[Settings], Awaitable[T]], *, server: bool = False, verbose: bool = False) -> T:
    settings = _load_settings(server=server, verbose=verbose)
    try:
        return asyncio.run(coro_factory(settings))  # type: ignore[arg-type]
    except _OPERATOR_ERRORS as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", code=130) from None


def _print_demo(demo: object, base_url: str, token: bool, *, serving: bool = True) -> None:
    auth = ' -H "Authorization: Bearer $VOICE_AI_API_TOKEN"' if token else ""
    domain_uuid = getattr(demo, "domain_uuid", "")
    when = "try" if serving else "with `voice-ai serve` running, try"
    typer.echo(f"demo domain: {getattr(demo, 'domain_name', '')} ({domain_uuid})")
    typer.echo(f"{when}: curl -s{auth} {base_url}/api/v1/domains/{domain_uuid}/secretaries")
    typer.echo(
        f'  or:  voice-ai call --url {base_url} --domain demo.localhost --secretary 8000 --text "Posso pagar com Pix?"'
    )


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _find_domain(session: Any, domain: str) -> Any:
    """A domain by uuid or by name (case-insensitive), or None."""
    from voice_ai.db.repositories.domains import DomainRepository

    repo = DomainRepository(session)
    as_uuid = _as_uuid(domain)
    return await (repo.get(as_uuid) if as_uuid is not None else repo.get_by_name(domain))


def _no_domain(domain: str) -> str:
    from voice_ai.demo.seed import DEMO_DOMAIN

    hint = (
        "create the demo with `voice-ai demo seed` (or start `voice-ai serve --demo`)"
        if domain.lower() == DEMO_DOMAIN
        else "create it (POST /api/v1/domains, or in FusionPBX), or try the demo: `voice-ai demo seed`"
    )
    return f"the domain {domain!r} does not exist in this database; {hint}"


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown, which would kill the process
        before the embedded PostgreSQL is stopped; forget the signal so clean-up runs, then exit 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                getattr(self, "_captured_signals", []).clear()

    return Server


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8100)")] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Create the demo tenant if missing (never changes it; standalone databases only)"),
    ] = False,
) -> None:
    """Run the Voice AI Service (embedded PostgreSQL unless VOICE_AI_DATABASE_URL is set)."""
    import uvicorn

    from voice_ai.demo.seed import seed_demo

    _Server = _server_class()
    from voice_ai.main import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _load_settings(server=True, overrides=overrides)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    try:
        check_bind(settings.host, token)
    except UnsafeBindError as exc:
        raise _fail(str(exc), code=2) from None

    async def _serve() -> None:
        async with Runtime(settings) as runtime:
            if demo:
                async with runtime.sessionmaker() as session, session.begin():
                    tenant = await seed_demo(session, standalone=runtime.standalone)
                for document_uuid in tenant.to_index:  # indexed by the worker in the background
                    assert runtime.jobs is not None
                    await runtime.jobs.ingest(tenant.domain_uuid, document_uuid)
                _print_demo(tenant, f"http://{settings.host}:{settings.port}", bool(token))
            config = uvicorn.Config(
                create_app(settings, runtime=runtime),
                host=settings.host,
                port=settings.port,
                log_config=None,
                proxy_headers=False,
            )
            await _Server(config).serve()

    try:
        asyncio.run(_serve())
    except _OPERATOR_ERRORS as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:  # stopped before serving started: clean-up has run
        raise _fail("interrupted", code=130) from None


def _migrate(action: Literal["upgrade", "downgrade"] | None, revision: str = "head", verbose: bool = False) -> None:
    """Run one migration action (or none) on the configured database and print where it stands."""
    from voice_ai.db import migrate

    async def _go(settings: Settings) -> None:
        async with Runtime(settings.model_copy(update={"auto_migrate": False, "worker": False})) as runtime:
            if action is not None:
                await getattr(migrate, action)(runtime.engine, revision)
            if action == "upgrade" and runtime.jobs is not None:
                await jobs.install(runtime.jobs.dsn)
            async with runtime.engine.connect() as conn:
                current = await migrate.current_revision(conn)
            typer.echo(f"current: {current or '(empty)'}  head: {migrate.head_revision()}")

    _run(_go, verbose=verbose)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head", verbose: Verbose = False) -> None:
    """Apply migrations up to REVISION (default: head)."""
    _migrate("upgrade", revision, verbose)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1")], verbose: Verbose = False
) -> None:
    """Revert migrations down to REVISION (``base`` removes every table this service created)."""
    _migrate("downgrade", revision, verbose)


@db_app.command("current")
def db_current(verbose: Verbose = False) -> None:
    """Show the database's revision and the code's head revision."""
    _migrate(None, verbose=verbose)


@demo_app.command("seed")
def demo_seed(
    domain: Annotated[str, typer.Option(help="Domain name of the demo tenant")] = "demo.localhost",
    verbose: Verbose = False,
) -> None:
    """Create the demo tenant if missing: a secretary, transfer rules and documents of a sample company.

    Never changes what exists (a tenant's edits stay); refused on FusionPBX's database."""
    from voice_ai.demo.seed import seed_demo

    async def _go(settings: Settings) -> None:
        from voice_ai.rag.ingest import ingest_document

        async with Runtime(settings.model_copy(update={"worker": False})) as runtime:
            async with runtime.sessionmaker() as session, session.begin():
                tenant = await seed_demo(session, domain_name=domain, standalone=runtime.standalone)
            embedder = await runtime.embedder(tenant.domain_uuid)
            for document_uuid in tenant.to_index:
                await ingest_document(runtime.sessionmaker, tenant.domain_uuid, document_uuid, embedder=embedder)
            typer.echo(
                f"secretary: {tenant.secretary_uuid}  transfer rules: {tenant.transfer_rules}  "
                f"documents indexed: {len(tenant.to_index)}"
            )
            _print_demo(
                tenant, f"http://{settings.host}:{settings.port}", settings.api_token is not None, serving=False
            )

    _run(_go, verbose=verbose)


@app.command()
def worker() -> None:
    """Run only the background job worker (document indexing); scale out by starting more."""

    async def _go(settings: Settings) -> None:
        async with Runtime(settings.model_copy(update={"worker": True})) as runtime:
            typer.echo("worker running; Ctrl-C to stop")
            assert runtime.worker is not None
            await runtime.worker.run_until_stopped()

    _run(_go, server=True)


@app.command()
def ingest(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="PDF, DOCX, HTML, MD, TXT")
    ],
    domain: Annotated[str, typer.Option(help="Domain name or uuid")],
    language: Annotated[str | None, typer.Option(help="Document language (default: the tenant's)")] = None,
    force: Annotated[bool, typer.Option("--force", help="Index again files already uploaded")] = False,
    verbose: Verbose = False,
) -> None:
    """Upload documents to a tenant and index them now, with a progress bar."""
    import hashlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from voice_ai.db.repositories.entities import DocumentRepository
    from voice_ai.rag.extract import MIME_OF, DocumentError, detect_kind
    from voice_ai.rag.ingest import ingest_document
    from voice_ai.services.vocabulary import tenant_language

    async def _go(settings: Settings) -> None:
        async with Runtime(settings.model_copy(update={"worker": False})) as runtime:
            async with runtime.sessionmaker() as session:
                found = await _find_domain(session, domain)
                if found is None:
                    raise _fail(_no_domain(domain))
                domain_uuid = found["domain_uuid"]
                lang = language or await tenant_language(session, domain_uuid)
            embedder = await runtime.embedder(domain_uuid)
            failures = 0
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
            ) as bar:
                for path in files:
                    data = path.read_bytes()
                    task = bar.add_task(path.name, total=None)
                    try:
                        kind = detect_kind(data, path.name)
                    except DocumentError as exc:
                        bar.update(task, description=f"{path.name}: {exc}")
                        failures += 1
                        continue
                    digest = hashlib.sha256(data).hexdigest()
                    async with runtime.sessionmaker() as session, session.begin():
                        docs = DocumentRepository(session)
                        row = await docs.by_sha256(domain_uuid, digest)
                        if row is not None and not force:
                            bar.update(
                                task, description=f"{path.name}: already uploaded (use --force)", total=1, completed=1
                            )
                            continue
                        if row is None:
                            row = await docs.create(
                                domain_uuid,
                                {
                                    "name": path.name,
                                    "mime_type": MIME_OF[kind],
                                    "size_bytes": len(data),
                                    "sha256": digest,
                                    "content": data,
                                    "language": lang,
                                    "status": "queued",
                                },
                            )
                        document_uuid = row.voice_document_uuid

                    def progress(done: int, total: int, task: Any = task) -> None:
                        bar.update(task, completed=done, total=total)

                    result = await ingest_document(
                        runtime.sessionmaker, domain_uuid, document_uuid, embedder=embedder, progress=progress
                    )
                    if result is None or result.status != "ready":
                        failures += 1
                        bar.update(task, description=f"{path.name}: failed: {result.error if result else 'deleted'}")
                    else:
                        bar.update(task, description=f"{path.name}: {result.chunk_count} chunks", total=1, completed=1)
            if failures:
                raise _fail(f"{failures} of {len(files)} files were not indexed")

    _run(_go, verbose=verbose)


@app.command()
def call(
    domain: Annotated[str, typer.Option(help="Domain name or uuid")],
    secretary: Annotated[str, typer.Option(help="Secretary extension or uuid")],
    text: Annotated[list[str] | None, typer.Option("--text", help="A caller turn as text (repeat)")] = None,
    wav: Annotated[
        list[Path] | None, typer.Option("--wav", exists=True, dir_okay=False, help="A caller turn as WAV (repeat)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="A running service (default: run one in-process)")] = None,
    verbose: Verbose = False,
) -> None:
    """Simulate a call through the telephony API: prints each turn's transcript, reply, action and timings."""
    import httpx

    from voice_ai.main import create_app

    turns: list[tuple[str, Any]] = [("text", t) for t in text or []] + [("wav", w) for w in wav or []]
    if not turns:
        raise _fail("give at least one --text or --wav turn")

    async def converse(http: httpx.AsyncClient, domain_uuid: str) -> None:
        call_uuid = f"sim-{uuid.uuid4()}"
        started = await http.post(
            "/api/v1/calls", json={"domain_uuid": domain_uuid, "secretary": secretary, "call_uuid": call_uuid}
        )
        if started.status_code != 201:
            raise _fail(f"cannot start the call: {started.json().get('detail')}")
        typer.echo(f"secretary: {started.json()['greeting_text']}")
        outcome = "resolved"
        for kind, value in turns:
            form = {"domain_uuid": domain_uuid}
            if kind == "text":
                response = await http.post(f"/api/v1/calls/{call_uuid}/turns", data={**form, "text": value})
            else:
                files = {"audio": (value.name, value.read_bytes(), "audio/wav")}
                response = await http.post(f"/api/v1/calls/{call_uuid}/turns", data=form, files=files)
            body = response.json()
            if response.status_code != 200:
                raise _fail(f"turn failed: {body.get('detail') or body.get('message')}")
            typer.echo(f"caller:    {body['transcript']}")
            typer.echo(f"secretary: {body['response_text']}")
            timings = " ".join(f"{k}={v:.0f}" for k, v in body["timings"].items())
            where = (
                f" → {body['transfer']['destination']} ({body['transfer']['department'] or 'operator'})"
                if body["transfer"]
                else ""
            )
            typer.echo(f"           [{body['action']}{where}] {timings} ms")
            if body["action"] != "continue":
                outcome = "transferred" if body["action"] == "transfer" else "hangup"
                break
        ended = await http.post(f"/api/v1/calls/{call_uuid}/end", json={"domain_uuid": domain_uuid, "outcome": outcome})
        typer.echo(f"call ended: {outcome}; summary: {ended.json().get('summary')}")

    async def _go(settings: Settings) -> None:
        headers = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"} if settings.api_token else {}
        if url:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
                try:
                    listed = await http.get("/api/v1/domains", params={"name": domain})
                except httpx.HTTPError as exc:
                    raise _fail(f"cannot reach the service at {url}: {type(exc).__name__}") from None
                if listed.status_code != 200:
                    raise _fail(f"the service at {url} answered {listed.status_code}: {listed.text[:200]}")
                found = listed.json().get("items", [])
                if not found and _as_uuid(domain) is not None:
                    found = (
                        [{"domain_uuid": domain}] if (await http.get(f"/api/v1/domains/{domain}")).is_success else []
                    )
                if not found:
                    raise _fail(_no_domain(domain))
                await converse(http, str(found[0]["domain_uuid"]))
            return
        async with Runtime(settings) as runtime:
            async with runtime.sessionmaker() as session:
                row = await _find_domain(session, domain)
            if row is None:
                raise _fail(_no_domain(domain))
            app = create_app(settings, runtime=runtime)
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=transport, base_url="http://simulator", headers=headers, timeout=120
                ) as http,
            ):
                await converse(http, str(row["domain_uuid"]))

    _run(_go, verbose=verbose)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@freeswitch_app.command("install")
def freeswitch_install(
    scripts_dir: Annotated[Path, typer.Option(help="FreeSWITCH's script directory")] = Path(
        "/usr/share/freeswitch/scripts"
    ),
    sounds_dir: Annotated[Path, typer.Option(help="FreeSWITCH's sounds directory")] = Path(
        "/usr/share/freeswitch/sounds"
    ),
    conf_dir: Annotated[Path, typer.Option(help="FreeSWITCH's configuration (to check lua.conf.xml)")] = Path(
        "/etc/freeswitch"
    ),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print what would be copied")] = False,
) -> None:
    """Copy secretary_ai.lua, its voice_ai/*.lua modules and the local sounds into FreeSWITCH's folders."""
    from voice_ai.telephony.freeswitch import install

    try:
        report = install(scripts_dir, sounds_dir, conf_dir, dry_run=dry_run)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from None
    verb = "would copy" if dry_run else "copied"
    for path in report.copied:
        typer.echo(f"{verb} {path}")
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"{len(report.copied)} files {verb}. Next: route an extension to the secretary "
        "(voice-ai freeswitch dialplan --domain <domain> --extension <ext>); see docs/freeswitch.md."
    )


@freeswitch_app.command("dialplan")
def freeswitch_dialplan(
    domain: Annotated[str, typer.Option(help="The tenant's domain name")],
    extension: Annotated[str, typer.Option(help="The secretary's extension")],
    flavor: Annotated[
        str, typer.Option(help="fusionpbx (Dialplan Manager XML) or freeswitch (conf/dialplan file)")
    ] = "fusionpbx",
    fallback: Annotated[
        str | None, typer.Option(help="Where callers go if the service is down (default: the secretary's operator)")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="turn (the Lua call flow) or stream (mod_audio_stream; see docs/streaming.md)")
    ] = "turn",
) -> None:
    """Print the dialplan entry that routes an extension to a tenant's secretary."""
    from voice_ai.db.repositories.domains import DomainRepository
    from voice_ai.db.repositories.entities import SecretaryRepository
    from voice_ai.telephony.freeswitch import render_dialplan

    if flavor not in ("fusionpbx", "freeswitch"):
        raise _fail("--flavor is fusionpbx or freeswitch", code=2)
    if mode not in ("turn", "stream"):
        raise _fail("--mode is turn or stream", code=2)

    async def _go(settings: Settings) -> str:
        async with (
            Runtime(settings.model_copy(update={"worker": False})) as runtime,
            runtime.sessionmaker() as session,
        ):
            found = await DomainRepository(session).get_by_name(domain)
            if found is None:
                raise _fail(f"no domain named {domain!r}")
            domain_uuid = found["domain_uuid"]
            secretary = await SecretaryRepository(session).get_by_extension(domain_uuid, extension)
            if secretary is None:
                raise _fail(f"{domain} has no secretary on extension {extension}")
            operator = fallback or secretary.operator_destination
            if not operator:
                raise _fail("the secretary has no operator destination: pass --fallback <extension>")
            try:
                return render_dialplan(
                    flavor,  # type: ignore[arg-type]
                    domain_uuid=domain_uuid,
                    domain_name=str(found["domain_name"]),
                    extension=extension,
                    secretary=str(secretary.voice_secretary_uuid),
                    fallback_destination=operator,
                    mode=mode,  # type: ignore[arg-type]
                )
            except ValueError as exc:
                raise _fail(str(exc)) from None

    typer.echo(_run(_go), nl=False)
