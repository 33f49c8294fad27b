"""Install the FreeSWITCH side (Lua call flow and local sounds) and render dialplan entries.

The Lua scripts, sounds and dialplan templates live in ``telephony/freeswitch`` of the repository and are
packaged into the wheel under ``voice_ai/telephony/assets`` (see pyproject's force-include).
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

Flavor = Literal["fusionpbx", "freeswitch"]
Mode = Literal["turn", "stream"]

# Debian/FusionPBX layout (FreeSWITCH packages from the FreeSWITCH or Debian repositories).
DEFAULT_SCRIPTS_DIR = Path("/usr/share/freeswitch/scripts")
DEFAULT_SOUNDS_DIR = Path("/usr/share/freeswitch/sounds")
DEFAULT_CONF_DIR = Path("/etc/freeswitch")

_TOKEN = re.compile(r"^[A-Za-z0-9+*#._@-]{1,64}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9._-]{1,253}$")


def assets_dir() -> Path:
    """Where the FreeSWITCH assets are: inside the installed package, or the repository checkout."""
    packaged = Path(__file__).resolve().parent / "assets"
    if (packaged / "scripts" / "secretary_ai.lua").is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "telephony" / "freeswitch"
    if (checkout / "scripts" / "secretary_ai.lua").is_file():
        return checkout
    raise FileNotFoundError("the FreeSWITCH scripts are not in this installation (telephony/freeswitch)")


@dataclass
class InstallReport:
    copied: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _copy_tree(source: Path, target: Path, pattern: str, report: InstallReport, dry_run: bool) -> None:
    for path in sorted(source.rglob(pattern)):
        if not path.is_file():
            continue
        destination = target / path.relative_to(source)
        report.copied.append(destination)
        if not dry_run:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            destination.chmod(0o644)


LUA_CONF_LINE = '<param name="script-directory" value="$${script_dir}/?.lua;;"/>'
_RESTART = "then restart FreeSWITCH (systemctl restart freeswitch): mod_lua cannot be unloaded, so lua.conf changes need a restart"


def _active_xml(text: str) -> str:
    """The XML without its comments: FreeSWITCH's stock lua.conf.xml has script-directory commented out."""
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


def check_lua_conf(conf_dir: Path) -> list[str]:
    """What is wrong with mod_lua's ``script-directory`` (empty when all is well), each with the exact fix."""
    lua_conf = conf_dir / "autoload_configs" / "lua.conf.xml"
    if not lua_conf.is_file():
        return [f"{lua_conf} not found: is --conf-dir FreeSWITCH's configuration folder?"]
    values = re.findall(
        r'<param\s+name="script-directory"\s+value="([^"]*)"', _active_xml(lua_conf.read_text(errors="replace"))
    )
    if not values:
        return [
            f"{lua_conf}: script-directory is not set (FreeSWITCH ships the line commented out). The call flow "
            "finds its modules next to secretary_ai.lua anyway, but set it so every script shares one search path: "
            f"add {LUA_CONF_LINE} inside <settings>, {_RESTART}"
        ]
    return [
        f'{lua_conf}: script-directory "{value}" does not end with ";;", so it replaces Lua\'s default search path '
        f'and mod_lua cannot find LuaSocket: change it to "{value};;", {_RESTART}'
        for value in values
        if not value.endswith(";;")
    ]


def check_host(conf_dir: Path, lua_version: str = "5.3") -> list[str]:
    """What the FreeSWITCH host still needs for the call flow (empty when all is well)."""
    problems = check_lua_conf(conf_dir)
    search = [Path("/usr/share/lua") / lua_version, Path("/usr/local/share/lua") / lua_version]
    search += [*Path("/usr/lib").glob(f"*/lua/{lua_version}"), Path("/usr/local/lib/lua") / lua_version]
    if not any((base / "socket.lua").is_file() or (base / "socket" / "core.so").is_file() for base in search):
        problems.append("LuaSocket is not installed: apt-get install lua-socket")
    if not any((base / "cjson.so").is_file() for base in search):
        problems.append("lua-cjson is not installed (optional: the scripts fall back to a pure-Lua JSON codec)")
    return problems


def install(
    scripts_dir: Path = DEFAULT_SCRIPTS_DIR,
    sounds_dir: Path = DEFAULT_SOUNDS_DIR,
    conf_dir: Path | None = DEFAULT_CONF_DIR,
    *,
    dry_run: bool = False,
) -> InstallReport:
    """Copy ``secretary_ai.lua`` and ``voice_ai/*.lua`` into ``scripts_dir`` and the local sounds into
    ``sounds_dir/voice_ai/<language>/``. Only our own files are written; running it again upgrades them."""
    assets = assets_dir()
    report = InstallReport()
    for folder in (scripts_dir, sounds_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} does not exist (is FreeSWITCH installed? pass the right folder)")
    _copy_tree(assets / "scripts", scripts_dir, "*.lua", report, dry_run)
    _copy_tree(assets / "sounds", sounds_dir, "*.wav", report, dry_run)
    if conf_dir is not None:
        report.warnings.extend(check_host(conf_dir))
    return report


def render_dialplan(
    flavor: Flavor,
    *,
    domain_uuid: uuid.UUID,
    domain_name: str,
    extension: str,
    secretary: str,
    fallback_destination: str,
    mode: Mode = "turn",
) -> str:
    """A dialplan entry routing ``extension`` to the secretary (values are checked, then XML-escaped). ``mode``:
    the turn-based Lua call flow, or streaming (docs/streaming.md), as the channel variable ``voice_ai_mode``."""
    if mode not in ("turn", "stream"):
        raise ValueError(f"mode {mode!r}: turn or stream")
    for name, value in (("extension", extension), ("secretary", secretary), ("fallback", fallback_destination)):
        if not _TOKEN.match(value):
            raise ValueError(f"{name} {value!r}: use digits, letters and + * # . _ @ - only")
    if not _DOMAIN.match(domain_name):
        raise ValueError(f"domain name {domain_name!r} is not a host name")
    template = (assets_dir() / "dialplan" / flavor / "voice_secretary.xml").read_text(encoding="utf-8")
    values = {
        "domain_uuid": str(domain_uuid),
        "domain_name": domain_name,
        "extension": extension,
        "extension_regex": re.escape(extension),
        "secretary": secretary,
        "fallback_destination": fallback_destination,
        "mode": mode,
        "dialplan_uuid": str(uuid.uuid5(domain_uuid, f"voice_secretary:{extension}")),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: escape(values[m.group(1)], {'"': "&quot;"}), template)
