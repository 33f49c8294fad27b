"""scripts/platform/fusionpbx.sh under a scratch file-system root (``VOICE_AI_PLATFORM_ROOT``), with fake Debian
tools first in PATH: what it leaves behind when apt-get fails, and whose folders it changes the owner of.

Runs as root (the script refuses otherwise and chowns to www-data); skipped elsewhere.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "platform" / "fusionpbx.sh"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not any(u.pw_name == "www-data" for u in pwd.getpwall()),
    reason="the script runs as root and gives folders to www-data",
)


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def machine(tmp_path: Path, *, installed: bool, apt_fails: bool = False) -> tuple[Path, dict[str, str]]:
    """A scratch root that already has FusionPBX's source and pgvector (nothing to extract), and fake tools:
    dpkg-query says every package is ``installed`` (or none), apt-get records whether policy-rc.d was there."""
    root = tmp_path / "root"
    bin_dir = tmp_path / "bin"
    for folder in (root / "usr" / "sbin", bin_dir):
        folder.mkdir(parents=True)
    webroot = root / "var" / "www" / "fusionpbx"
    (webroot / "core" / "software" / "resources" / "classes").mkdir(parents=True)
    (webroot / ".voice-ai-platform").write_text("fusionpbx-5.5-56cb26d.tar.xz\n")
    (webroot / "core" / "software" / "resources" / "classes" / "software.php").write_text("return '5.5.13';")
    (root / "usr" / "lib" / "postgresql" / "15" / "lib").mkdir(parents=True)
    (root / "usr" / "lib" / "postgresql" / "15" / "lib" / "vector.so").write_bytes(b"")
    (root / "usr" / "share" / "postgresql" / "15" / "extension").mkdir(parents=True)
    (root / "usr" / "share" / "postgresql" / "15" / "extension" / "vector.control").write_text(
        "default_version = '0.8.6'\n"
    )
    status = "install ok installed" if installed else "deinstall ok config-files"
    fake(bin_dir, "dpkg-query", f"printf '{status}'")
    policy = root / "usr" / "sbin" / "policy-rc.d"
    fake(
        bin_dir,
        "apt-get",
        f'[ -x "{policy}" ] && echo "policy present: $*" >> "{tmp_path}/apt.log"\n'
        + ("exit 100" if apt_fails else "exit 0"),
    )
    fake(bin_dir, "pg_lsclusters", "echo '15  main    5432 down   postgres /var/lib/postgresql/15/main x'")
    for tool in ("pg_createcluster", "pg_ctlcluster", "nginx", "php-fpm8.2", "php8.2"):
        fake(bin_dir, tool, "exit 0")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "VOICE_AI_PLATFORM_ROOT": str(root),
        "VOICE_AI_PLATFORM_DIR": str(tmp_path / "no-tarballs-needed"),
    }
    return root, env


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_failed_apt_get_leaves_no_policy_rc_d_behind(tmp_path: Path) -> None:
    """Issue 10 review: with ``set -e`` a failing apt-get ended the script before the policy was removed, and
    every package installed later on that machine could not start its service."""
    root, env = machine(tmp_path, installed=False, apt_fails=True)
    done = run_script(env)
    assert done.returncode != 0, done.stdout + done.stderr
    assert "policy present" in (tmp_path / "apt.log").read_text(), "services were not held back during apt-get"
    assert not (root / "usr" / "sbin" / "policy-rc.d").exists(), "policy-rc.d left behind"


def test_a_policy_rc_d_of_the_machine_is_kept(tmp_path: Path) -> None:
    root, env = machine(tmp_path, installed=False)
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n")
    done = run_script(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert policy.read_text() == "#!/bin/sh\nexit 0\n"


def test_only_the_folders_it_creates_are_given_to_www_data(tmp_path: Path) -> None:
    """Issue 10 review: ``chown -R www-data`` of /etc/freeswitch, /usr/share/freeswitch and /var/lib/freeswitch
    would take a Debian-packaged FreeSWITCH's files from their owner on a developer's machine."""
    root, env = machine(tmp_path, installed=True)
    packaged = root / "etc" / "freeswitch"
    (packaged / "autoload_configs").mkdir(parents=True)
    (packaged / "autoload_configs" / "lua.conf.xml").write_text("<configuration/>")
    (root / "var" / "lib" / "freeswitch" / "db").mkdir(parents=True)
    done = run_script(env)
    assert done.returncode == 0, done.stdout + done.stderr
    www_data = pwd.getpwnam("www-data").pw_uid
    for kept in (
        packaged,
        packaged / "autoload_configs",
        packaged / "autoload_configs" / "lua.conf.xml",
        root / "var" / "lib" / "freeswitch",
        root / "var" / "lib" / "freeswitch" / "db",
    ):
        assert kept.stat().st_uid == 0, f"{kept} was given away"
    for created in ("etc/fusionpbx", "var/cache/fusionpbx", "etc/freeswitch/languages", "usr/share/freeswitch/scripts"):
        assert (root / created).stat().st_uid == www_data, created
    assert "www-data cannot write it" in done.stderr  # says why FusionPBX's installer may fail there
    assert not (root / "usr" / "sbin" / "policy-rc.d").exists()
