"""A real FusionPBX 5.5 for end-to-end tests (tests/test_real_fusionpbx.py), driven as an admin drives it.

``VOICE_AI_TEST_FUSIONPBX`` names FusionPBX's web root as ``scripts/platform/fusionpbx.sh`` left it
(``/var/www/fusionpbx``: FusionPBX's installer hard-codes that path). Setting it declares this machine a
FusionPBX *test* machine: as root, the tests start PostgreSQL 15's default cluster if it is down, create a fresh
database, PHP-FPM and nginx on free ports, run FusionPBX's web installer (which writes
``/etc/fusionpbx/config.conf``; a config already there is put back afterwards), install the voice_secretary
app into ``app/voice_secretary`` with the four upgrade steps, and at the end stop what they started, drop the
database and remove the app again.

What the installer cannot do over plain http is done the way FusionPBX's docs say: ``session.cookie_secure =
false`` in config.conf (and ``error.reporting = all`` so PHP reports every notice).

PHP-FPM runs two pools: the app's pages (``/app/voice_secretary/``) and FusionPBX's own, each with its own PHP
error log, so that a warning is told apart by the page that caused it — whatever file it is reported in (the
app's code calls FusionPBX's classes). Requests are sent only once PHP really answers through nginx (a PHP page of
each pool renders), within a generous bound; a failure shows PHP-FPM's and nginx's logs.

An app folder or a config.conf already on the machine is moved aside and put back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bs4 import BeautifulSoup, Tag

from helpers import free_port

ENV = "VOICE_AI_TEST_FUSIONPBX"
WEB_USER = "www-data"
PHP_FPM = "/usr/sbin/php-fpm8.2"
NGINX = "/usr/sbin/nginx"
CONFIG = Path("/etc/fusionpbx/config.conf")
CACHE = Path("/var/cache/fusionpbx")  # FusionPBX's file cache (settings, dialplans): stale across databases
# FusionPBX binds a session to the browser's User-Agent: every request of one login must send the same one. A
# browser's own form: FusionPBX parses it (functions.php) and warns about a User-Agent it cannot read.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
APP_PATH = "/app/voice_secretary/"  # the app's pages: served by their own PHP-FPM pool (and error log)
READY_TIMEOUT_S = 180.0  # PHP-FPM and nginx on a busy CI machine: generous, it returns as soon as they answer
PROBE = "voice-ai-probe"
PHP_PROBLEM = re.compile(r"\b(Warning|Fatal error|Parse error|Deprecated|Notice)\b\s*:", re.IGNORECASE)


def run(
    *args: str, user: str | None = None, check: bool = True, timeout: float = 300, stderr_too: bool = False, **kw: Any
) -> str:
    """A command (as ``user`` when given), its output (with its errors when ``stderr_too``); a failure shows what
    it printed."""
    command = ["runuser", "-u", user, "--", *args] if user else list(args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout + (done.stderr if stderr_too else "")


def psql(sql: str, database: str = "postgres") -> str:
    """SQL as PostgreSQL's superuser (peer authentication over the local socket)."""
    return run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-d", database, "-c", sql, user="postgres")


def php_problems(text: str) -> list[str]:
    """The PHP warnings/notices/errors in a page's text, each with what follows it (the file and line)."""
    return [m.group(0) + text[m.end() : m.end() + 200] for m in PHP_PROBLEM.finditer(text)]


class Page:
    """One answer of FusionPBX, parsed like a browser would see it."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.url = str(response.url)
        self.text = response.text
        self.soup = BeautifulSoup(self.text, "html.parser")

    def php_problems(self) -> list[str]:
        """PHP warnings/notices/errors printed into the page (display_errors)."""
        return php_problems(self.soup.get_text())

    def messages(self, mood: str = "positive") -> list[str]:
        """The flash messages of this mood FusionPBX queued for the page (its display_message('…', mood) calls)."""
        texts: list[str] = []
        for text, found in re.findall(r"display_message\('((?:[^'\\]|\\.)*)', '(\w+)'", self.text):
            if found == mood:
                unescaped = re.sub(r"\\(.)", r"\1", text)  # addslashes() undone
                texts += [BeautifulSoup(part, "html.parser").get_text() for part in unescaped.split("<br/>")]
        return texts

    def form(self, form_id: str) -> dict[str, str]:
        """The fields a browser submits from the form with this id (no buttons, unchecked boxes or files)."""
        form = self.soup.find("form", id=form_id)
        assert isinstance(form, Tag), f"no form #{form_id} on {self.url}:\n{self.text[:2000]}"
        return form_fields(form)

    def select_values(self, name: str) -> list[str]:
        select = self.soup.find("select", attrs={"name": name})
        assert isinstance(select, Tag), f"no select {name} on {self.url}"
        return [str(option.get("value", "")) for option in select.find_all("option")]


def form_fields(form: Tag) -> dict[str, str]:
    fields: dict[str, str] = {}
    for node in form.find_all(["input", "select", "textarea"]):
        name = node.get("name")
        if not name or node.has_attr("disabled"):
            continue
        if node.name == "input":
            kind = str(node.get("type", "text")).lower()
            if kind in {"submit", "button", "file", "image", "reset"}:
                continue
            if kind in {"checkbox", "radio"} and not node.has_attr("checked"):
                continue
            fields[str(name)] = str(node.get("value", "on" if kind in {"checkbox", "radio"} else ""))
        elif node.name == "textarea":
            fields[str(name)] = node.get_text()
        else:
            options = node.find_all("option")
            chosen = next((o for o in options if o.has_attr("selected")), options[0] if options else None)
            fields[str(name)] = str(chosen.get("value", chosen.get_text())) if chosen is not None else ""
    return fields


class Browser:
    """A person at a browser: one cookie jar, one User-Agent, the domain chosen by the Host header.

    A 5xx answer (nginx's 502 when PHP-FPM is gone, PHP's 500 on a fatal error) fails at once with
    ``diagnostics()`` — the servers' logs — since no page of a test may end that way."""

    def __init__(self, base_url: str, domain: str, diagnostics: Callable[[], str] = lambda: "") -> None:
        self.domain = domain
        self.diagnostics = diagnostics
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Host": domain, "User-Agent": USER_AGENT},
            follow_redirects=True,
            timeout=120,
        )

    def _page(self, response: httpx.Response) -> Page:
        if response.status_code >= 500:
            raise AssertionError(
                f"{response.request.method} {response.url} ({self.domain}): HTTP {response.status_code}\n"
                f"{response.text[:1500]}\n{self.diagnostics()}"
            )
        return Page(response)

    def get(self, path: str, **params: str) -> Page:
        # (httpx replaces a query string in the path by params, even an empty dict)
        return self._page(self.client.get(path, params=params) if params else self.client.get(path))

    def post(self, path: str, data: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None) -> Page:
        return self._page(self.client.post(path, data=data, files=files))

    def login(self, username: str, password: str) -> Page:
        self.client.cookies.clear()
        self.get("/login.php")
        page = self.post("/login.php", {"username": username, "password": password})
        assert "/core/dashboard" in page.url, (
            f"{username}@{self.domain} could not log in: {page.url}\n{page.messages()}"
        )
        return page

    def close(self) -> None:
        self.client.close()


@dataclass
class Account:
    username: str
    password: str
    domain: str


def tcp_accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        return True
    return False


def php_renders(url: str) -> bool:
    """Whether ``url`` (a probe page) was rendered by PHP: nginx answers 502/504 while PHP-FPM cannot."""
    try:
        answer = httpx.get(url, timeout=10)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.text.strip() == f"{PROBE} ok"


def wait_for_php(
    ports: list[int],
    urls: list[str],
    processes: list[subprocess.Popen[bytes]],
    diagnostics: Callable[[], str],
    timeout: float = READY_TIMEOUT_S,
) -> None:
    """Until PHP-FPM accepts on every port and a PHP page of each pool renders through nginx (each url); a
    process that exits, or the bound, fails with ``diagnostics()``. Returns as soon as all of it holds."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in processes:
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args[0]} exited ({proc.returncode}) before PHP answered\n{diagnostics()}")
        if all(tcp_accepts(port) for port in ports) and all(php_renders(url) for url in urls):
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"PHP-FPM (ports {ports}) did not render {urls} through nginx within {timeout:.0f} s\n{diagnostics()}"
            )
        time.sleep(0.25)


@dataclass
class FusionPBX:
    """FusionPBX installed from ``webroot`` and served on a free port; see the module docstring."""

    webroot: Path
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="voice-ai-fusionpbx-")))
    database: str = field(default_factory=lambda: f"voice_ai_fpbx_{secrets.token_hex(5)}")
    db_user: str = "voice_ai_fusionpbx"
    db_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    db_port: int = 5432
    port: int = 0
    fpm_ports: dict[str, int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_postgres: bool = False
    config_backup: Path | None = None
    apps: dict[str, Path | None] = field(default_factory=dict)  # installed app → the folder it replaced (moved)
    browsers: list[Browser] = field(default_factory=list)

    # ---- the machine ------------------------------------------------------------------------------------

    def check(self) -> None:
        """The variable is set: anything missing is a failure with the fix, never a skip."""
        hint = "run `sudo bash scripts/platform/fusionpbx.sh` first"
        assert os.geteuid() == 0, f"{ENV} is set: these tests run as root (they start nginx/PHP-FPM as {WEB_USER})"
        assert (self.webroot / "core" / "install" / "install.php").is_file(), f"{self.webroot} is no FusionPBX: {hint}"
        assert str(self.webroot) == "/var/www/fusionpbx", "FusionPBX's installer only works from /var/www/fusionpbx"
        for tool in (PHP_FPM, NGINX, "/usr/bin/pg_ctlcluster", "/usr/bin/php"):
            assert Path(tool).exists(), f"{tool} is missing: {hint}"
        assert Path("/usr/lib/postgresql/15/lib/vector.so").is_file(), f"pgvector for PostgreSQL 15 is missing: {hint}"
        assert Path("/etc/freeswitch/languages").is_dir(), f"/etc/freeswitch/languages is missing: {hint}"

    def start(self) -> None:
        self.check()
        os.chmod(self.work, 0o755)  # noqa: S103 (the web user reads its own files in here)
        clear_cache()
        clusters = run("pg_lsclusters", "-h")
        line = next((row.split() for row in clusters.splitlines() if row.split()[:2] == ["15", "main"]), None)
        assert line, f"PostgreSQL 15's cluster 15/main is missing:\n{clusters}"
        self.db_port = int(line[2])
        if line[3] != "online":
            run("pg_ctlcluster", "15", "main", "start")
            self.started_postgres = True
        psql(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{self.db_user}') "
            f"THEN ALTER ROLE {self.db_user} LOGIN PASSWORD '{self.db_password}'; "
            f"ELSE CREATE ROLE {self.db_user} LOGIN PASSWORD '{self.db_password}'; END IF; END $$"
        )
        psql(f"CREATE DATABASE {self.database} OWNER {self.db_user}")
        # the service's vector columns: the extension is created by the superuser, as docs/fusionpbx.md says
        psql("CREATE EXTENSION IF NOT EXISTS vector", self.database)
        self._prepare()
        for attempt in range(3):  # a free port taken by someone else in between: again, with other ports
            try:
                self._serve()
                return
            except AssertionError as exc:
                self._stop_servers()
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise

    def _prepare(self) -> None:
        """The folders and files the servers write to or read: sessions, error logs, the probe pages."""
        for folder in ("sessions", "probe", "nginx"):
            (self.work / folder).mkdir()
        for name in ("php-errors.log", "app-php-errors.log"):
            (self.work / name).touch()
            shutil.chown(self.work / name, WEB_USER, WEB_USER)
        shutil.chown(self.work / "sessions", WEB_USER, WEB_USER)
        for pool in ("fusionpbx", "app"):
            (self.work / "probe" / f"{PROBE}-{pool}.php").write_text(f"<?php echo '{PROBE} ok';\n")

    def _serve(self) -> None:
        """PHP-FPM (a pool for FusionPBX's pages, one for the app's), then nginx in front, on free ports; returns
        once PHP answers through nginx."""
        self.fpm_ports = {"fusionpbx": free_port(), "app": free_port()}
        self.port = free_port()
        pools = ""
        for pool, errors in (("fusionpbx", "php-errors.log"), ("app", "app-php-errors.log")):
            pools += f"""[{pool}]
user = {WEB_USER}
group = {WEB_USER}
listen = 127.0.0.1:{self.fpm_ports[pool]}
pm = static
pm.max_children = {3 if pool == "fusionpbx" else 2}
clear_env = yes
env[PATH] = /usr/local/bin:/usr/bin:/bin
catch_workers_output = yes
php_admin_value[error_log] = {self.work / errors}
php_admin_flag[log_errors] = on
php_value[session.save_path] = {self.work / "sessions"}
php_value[upload_max_filesize] = 20M
php_value[post_max_size] = 25M
"""
        (self.work / "php-fpm.conf").write_text(
            f"[global]\npid = {self.work}/php-fpm.pid\nerror_log = {self.work}/php-fpm.log\ndaemonize = no\n{pools}"
        )
        nginx = self.work / "nginx"

        def php(pool: str, script: str = "$document_root$fastcgi_script_name") -> str:
            return (
                f"fastcgi_pass 127.0.0.1:{self.fpm_ports[pool]}; include /etc/nginx/fastcgi_params;"
                f" fastcgi_param SCRIPT_FILENAME {script}; fastcgi_read_timeout 300;"
            )

        probes = "".join(
            f"    location = /{PROBE}-{pool}.php {{ {php(pool, str(self.work / 'probe' / f'{PROBE}-{pool}.php'))} }}\n"
            for pool in ("fusionpbx", "app")
        )
        (self.work / "nginx.conf").write_text(
            f"""user {WEB_USER};
worker_processes 1;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-error.log;
events {{ worker_connections 128; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {nginx}/body;
  fastcgi_temp_path {nginx}/fastcgi;
  proxy_temp_path {nginx}/proxy;
  uwsgi_temp_path {nginx}/uwsgi;
  scgi_temp_path {nginx}/scgi;
  client_max_body_size 25m;
  server {{
    listen 127.0.0.1:{self.port};
    server_name _;
    root {self.webroot};
    index index.php;
{probes}    location ^~ {APP_PATH} {{
      location ~ \\.php$ {{ {php("app")} }}
    }}
    location / {{ try_files $uri $uri/ /index.php?$args; }}
    location ~ \\.php$ {{ {php("fusionpbx")} }}
  }}
}}
"""
        )
        log = (self.work / "servers.log").open("ab")
        fpm = subprocess.Popen(
            [PHP_FPM, "--nodaemonize", "--fpm-config", str(self.work / "php-fpm.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(fpm)
        # nginx only once PHP-FPM listens (else its first requests are 502s), then PHP through nginx
        wait_for_php(list(self.fpm_ports.values()), [], self.processes, self.diagnostics)
        self.processes.append(
            subprocess.Popen(
                [NGINX, "-c", str(self.work / "nginx.conf"), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        probes_urls = [f"{self.url}/{PROBE}-{pool}.php" for pool in ("fusionpbx", "app")]
        wait_for_php(list(self.fpm_ports.values()), probes_urls, self.processes, self.diagnostics)

    def diagnostics(self) -> str:
        """The servers' state and the tail of each of their logs (for a failure's message)."""
        parts = [
            f"{Path(str(proc.args[0])).name}: " + ("running" if proc.poll() is None else f"exited {proc.returncode}")
            for proc in self.processes
        ]
        for name in ("php-fpm.log", "nginx-error.log", "servers.log", "php-errors.log", "app-php-errors.log"):
            path = self.work / name
            text = path.read_text(errors="replace")[-3000:] if path.exists() else "(no file)"
            parts.append(f"--- {path}:\n{text.rstrip() or '(empty)'}")
        return "\n".join(parts)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://{self.db_user}:{self.db_password}@127.0.0.1:{self.db_port}/{self.database}"

    def php_errors(self) -> dict[str, list[str]]:
        """What PHP logged, by the pages that ran: ``app`` (the app's pages) and ``fusionpbx`` (FusionPBX's own)."""
        return {
            pool: (self.work / name).read_text(errors="replace").splitlines()
            for pool, name in (("app", "app-php-errors.log"), ("fusionpbx", "php-errors.log"))
        }

    def clear_php_errors(self) -> None:
        for name in ("app-php-errors.log", "php-errors.log"):
            with (self.work / name).open("r+") as log:  # PHP-FPM appends (O_APPEND): truncating is safe
                log.truncate(0)

    # ---- what an admin does -----------------------------------------------------------------------------

    def install(self, admin: Account) -> None:
        """FusionPBX's web installer: the superadmin and first domain, then the database."""
        if CONFIG.exists():
            self.config_backup = CONFIG.with_name(f"config.conf.voice-ai-{secrets.token_hex(4)}")
            CONFIG.rename(self.config_backup)
        browser = self.browser(admin.domain)
        step1 = browser.get("/core/install/install.php")
        assert step1.status == 200 and "admin_username" in step1.text, (
            f"no installer at {step1.url}:\n{step1.text[:2000]}\n{self.diagnostics()}"
        )
        browser.post(
            "/core/install/install.php",
            {
                "step": "2",
                "admin_username": admin.username,
                "admin_password": admin.password,
                "domain_name": admin.domain,
            },
        )
        browser.post(
            "/core/install/install.php",
            {
                "step": "install",
                "database_host": "127.0.0.1",
                "database_port": str(self.db_port),
                "database_name": self.database,
                "database_username": self.db_user,
                "database_password": self.db_password,
            },
        )
        assert CONFIG.is_file(), f"FusionPBX's installer wrote no /etc/fusionpbx/config.conf\n{self.diagnostics()}"
        text = CONFIG.read_text()
        assert f"database.0.name = {self.database}" in text, text
        text = text.replace("session.cookie_secure = true", "session.cookie_secure = false")
        text = text.replace("error.reporting = user", "error.reporting = all")
        CONFIG.write_text(text)
        groups = self.query("select count(*) from v_groups")[0][0]
        assert groups > 0, "the installer created no groups (is /etc/freeswitch/languages writable by www-data?)"

    def install_app(self, source: Path, name: str) -> list[str]:
        """Copy the app in (place_app) and register it like Advanced → Upgrade does (schema, defaults,
        permissions, menu). Returns the PHP problems the upgrade steps printed."""
        self.place_app(source, name)
        problems: list[str] = []
        for step in (["--schema"], ["--defaults"], ["--permissions"], ["--menu", "default"]):
            output = run("php", "core/upgrade/upgrade.php", *step, user=WEB_USER, cwd=self.webroot, stderr_too=True)
            problems += [
                f"upgrade {' '.join(step)}: {line}" for line in output.splitlines() if PHP_PROBLEM.search(line)
            ]
        return problems

    def place_app(self, source: Path, name: str) -> None:
        """The app's files in ``app/<name>``, owned by the web user. A folder of that name already there is moved
        aside (next to the web root) and put back by remove_apps() (stop())."""
        target = self.webroot / "app" / name
        if name not in self.apps:
            backup = None
            if target.exists() or target.is_symlink():
                backup = self.webroot.parent / f".{name}.voice-ai-backup-{secrets.token_hex(4)}"
                target.rename(backup)
            self.apps[name] = backup
        elif target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)
        run("chown", "-R", f"{WEB_USER}:{WEB_USER}", str(target))

    def browser(self, domain: str) -> Browser:
        browser = Browser(self.url, domain, self.diagnostics)
        self.browsers.append(browser)
        return browser

    def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def _query() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.database_url)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(_query())

    def sql(self, sql: str) -> str:
        """SQL in FusionPBX's database as PostgreSQL's superuser."""
        return psql(sql, self.database)

    @contextlib.contextmanager
    def locked(self, table: str) -> Iterator[None]:
        """Holds ``table`` in SHARE mode (reads go on, writes wait) until the block ends: a transaction kept open
        by a psql session of the superuser."""
        session = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.database],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert session.stdin is not None and session.stdout is not None
        try:
            session.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN SHARE MODE;\n")
            session.stdin.flush()
            held = (
                f"select count(*) from pg_locks where relation = '{table}'::regclass and mode = 'ShareLock' and granted"
            )
            deadline = time.monotonic() + 60
            while psql(held, self.database).strip() != "1":
                assert session.poll() is None, session.stdout.read()
                assert time.monotonic() < deadline, f"{table} could not be locked within 60 s"
                time.sleep(0.1)
            yield
        finally:
            with contextlib.suppress(BrokenPipeError):
                session.stdin.write("COMMIT;\n")
                session.stdin.close()
            try:
                session.wait(timeout=30)
            except subprocess.TimeoutExpired:
                session.kill()
                session.wait(timeout=10)

    # ---- clean up ---------------------------------------------------------------------------------------

    def _stop_servers(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.processes.clear()

    def stop(self) -> None:
        """Everything start(), install() and install_app() did, undone (each step even when another fails)."""
        for browser in self.browsers:
            browser.close()
        steps: list[Callable[[], None]] = [self._stop_servers, self.remove_apps]
        steps += [lambda: psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"), self._restore_config]
        steps += [clear_cache]
        if self.started_postgres:
            steps.append(stop_postgres)
        failures = []
        for step in steps:
            try:
                step()
            except Exception as exc:  # the next steps still run; all failures are reported at the end
                failures.append(f"{exc!r}")
        shutil.rmtree(self.work, ignore_errors=True)
        assert not failures, f"cleaning up FusionPBX failed: {failures}"

    def remove_apps(self) -> None:
        """The apps placed by place_app() removed, and what was there before put back."""
        for name, backup in self.apps.items():
            target = self.webroot / "app" / name
            shutil.rmtree(target, ignore_errors=True)
            if backup is not None:
                backup.rename(target)
        self.apps.clear()

    def _restore_config(self) -> None:
        if CONFIG.exists() and f"database.0.name = {self.database}" in CONFIG.read_text():
            CONFIG.unlink()
        if self.config_backup is not None and not CONFIG.exists():
            self.config_backup.rename(CONFIG)


def stop_postgres() -> None:
    run("pg_ctlcluster", "15", "main", "stop", check=False)


def clear_cache() -> None:
    if CACHE.is_dir():
        for entry in CACHE.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


@contextlib.contextmanager
def installed(webroot: Path, admin: Account) -> Iterator[FusionPBX]:
    fusionpbx = FusionPBX(webroot)
    try:
        fusionpbx.start()
        fusionpbx.install(admin)
        yield fusionpbx
    finally:
        fusionpbx.stop()
