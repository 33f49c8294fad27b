"""``voice-ai freeswitch install`` and the dialplan templates (no FreeSWITCH needed: folders are checked)."""

from __future__ import annotations

import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers import cli_env, run_cli
from voice_ai.telephony.freeswitch import assets_dir, check_host, render_dialplan


def _layout(tmp_path: Path, script_directory: str) -> tuple[Path, Path, Path]:
    scripts, sounds, conf = tmp_path / "scripts", tmp_path / "sounds", tmp_path / "conf"
    for folder in (scripts, sounds, conf / "autoload_configs"):
        folder.mkdir(parents=True)
    (conf / "autoload_configs" / "lua.conf.xml").write_text(
        f'<configuration name="lua.conf"><settings><param name="script-directory" value="{script_directory}"/>'
        "</settings></configuration>"
    )
    return scripts, sounds, conf


def test_install_copies_scripts_and_sounds(tmp_path: Path) -> None:
    scripts, sounds, conf = _layout(tmp_path, "$${script_dir}/?.lua;;")
    (scripts / "other_app.lua").write_text("-- someone else's script")
    args = ["--scripts-dir", str(scripts), "--sounds-dir", str(sounds), "--conf-dir", str(conf)]
    dry = run_cli("freeswitch", "install", *args, "--dry-run", env=cli_env())
    assert dry.returncode == 0, dry.stderr
    assert "would copy" in dry.stdout and not (scripts / "secretary_ai.lua").exists()

    done = run_cli("freeswitch", "install", *args, env=cli_env())
    assert done.returncode == 0, done.stderr
    source = assets_dir()
    assert (scripts / "secretary_ai.lua").read_bytes() == (source / "scripts" / "secretary_ai.lua").read_bytes()
    modules = sorted(p.name for p in (scripts / "voice_ai").glob("*.lua"))
    assert modules == [
        "callflow.lua",
        "config.lua",
        "dtmf.lua",
        "http.lua",
        "json.lua",
        "log.lua",
        "rescue.lua",
        "stream.lua",
        "transfer.lua",
    ]
    # the entry scripts: the call, the one FreeSWITCH runs when a transfer finds no extension, and the one an
    # announced transfer runs on the department's leg
    assert sorted(p.name for p in scripts.glob("*.lua")) == [
        "other_app.lua",
        "secretary_ai.lua",
        "voice_ai_announce.lua",
        "voice_ai_no_route.lua",
    ]
    for language in ("pt-BR", "en-US"):
        names = sorted(p.stem for p in (sounds / "voice_ai" / language).glob("*.wav"))
        assert names == ["error_goodbye", "error_transfer", "goodbye", "greeting", "transferring"]
    assert (scripts / "other_app.lua").read_text() == "-- someone else's script"  # only our files are written
    assert "script-directory" not in done.stderr  # lua.conf is right
    again = run_cli("freeswitch", "install", *args, env=cli_env())  # upgrading in place works
    assert again.returncode == 0


def test_install_warns_about_a_lua_path_that_hides_luasocket(tmp_path: Path) -> None:
    scripts, sounds, conf = _layout(tmp_path, "/usr/share/freeswitch/scripts/?.lua")
    problems = check_host(conf)
    assert any('does not end with ";;"' in p for p in problems)
    done = run_cli(
        "freeswitch",
        "install",
        "--scripts-dir",
        str(scripts),
        "--sounds-dir",
        str(sounds),
        "--conf-dir",
        str(conf),
        env=cli_env(),
    )
    assert done.returncode == 0 and 'does not end with ";;"' in done.stderr


@pytest.mark.parametrize(
    "settings",
    [
        '<!-- <param name="script-directory" value="$${script_dir}/?.lua"/> -->',  # FreeSWITCH's stock file
        "",
    ],
)
def test_install_names_the_fix_for_a_missing_script_directory(tmp_path: Path, settings: str) -> None:
    """A commented-out line is not a setting (point 4); the fix is printed exactly, with a restart (point 5)."""
    scripts, sounds, conf = _layout(tmp_path, "unused")
    (conf / "autoload_configs" / "lua.conf.xml").write_text(
        f'<configuration name="lua.conf"><settings>{settings}</settings></configuration>'
    )
    args = ["--scripts-dir", str(scripts), "--sounds-dir", str(sounds), "--conf-dir", str(conf)]
    done = run_cli("freeswitch", "install", *args, env=cli_env())
    assert done.returncode == 0, done.stderr
    assert "script-directory is not set" in done.stderr
    assert '<param name="script-directory" value="$${script_dir}/?.lua;;"/>' in done.stderr
    assert "restart FreeSWITCH" in done.stderr and "reload" not in done.stderr


def test_no_text_says_mod_lua_can_be_reloaded() -> None:
    """mod_lua is not unloadable (point 5): no doc, script or message may tell anyone to reload it."""
    root = Path(__file__).resolve().parent.parent
    offenders = []
    for folder in ("docs", "src", "telephony", "scripts", "fusionpbx"):
        for path in (root / folder).rglob("*"):
            texts = {".md", ".py", ".lua", ".sh", ".php", ".xml", ".txt"}
            if path.is_file() and path.suffix in texts and "reload mod_lua" in path.read_text(errors="replace"):
                offenders.append(str(path.relative_to(root)))
    assert (root / "README.md").is_file()
    if "reload mod_lua" in (root / "README.md").read_text():
        offenders.append("README.md")
    assert offenders == []


def test_install_refuses_missing_folders(tmp_path: Path) -> None:
    done = run_cli("freeswitch", "install", "--scripts-dir", str(tmp_path / "nope"), env=cli_env())
    assert done.returncode == 1 and "does not exist" in done.stderr


@pytest.mark.parametrize("flavor", ["fusionpbx", "freeswitch"])
def test_dialplan_templates_render_valid_xml(flavor: str) -> None:
    domain_uuid = uuid.uuid4()
    xml = render_dialplan(
        flavor,  # type: ignore[arg-type]
        domain_uuid=domain_uuid,
        domain_name="acme.example.com",
        extension="+5541",
        secretary="8000",
        fallback_destination="200",
    )
    root = ET.fromstring(xml)  # noqa: S314 (our own template)
    extension = root if root.tag == "extension" else root.find("extension")
    assert extension is not None
    condition = extension.find("condition")
    assert condition is not None and condition.get("expression") == r"^\+5541$"
    actions = [(a.get("application"), a.get("data")) for a in condition.findall("action")]
    assert ("set", f"domain_uuid={domain_uuid}") in actions
    assert ("set", "domain_name=acme.example.com") in actions
    assert ("set", "voice_ai_fallback_destination=200") in actions
    assert actions[-1] == ("lua", "secretary_ai.lua 8000")


def test_dialplan_refuses_values_that_would_change_the_xml() -> None:
    with pytest.raises(ValueError, match="extension"):
        render_dialplan(
            "fusionpbx",
            domain_uuid=uuid.uuid4(),
            domain_name="acme",
            extension='8000"/><action application="bridge',
            secretary="8000",
            fallback_destination="200",
        )
    with pytest.raises(ValueError, match="domain"):
        render_dialplan(
            "fusionpbx",
            domain_uuid=uuid.uuid4(),
            domain_name="a b",
            extension="8000",
            secretary="8000",
            fallback_destination="200",
        )


def test_the_plain_freeswitch_entry_ends_with_the_no_route_guard() -> None:
    """Point 2a: the ``--flavor freeswitch`` file carries, after the secretary, the guard that catches the call
    flow's transfer when only continue="true" extensions matched it — and nothing else (no pending transfer, or
    another number: no match). The real FreeSWITCH runs it in tests/test_real_freeswitch.py."""
    xml = render_dialplan(
        "freeswitch",
        domain_uuid=uuid.uuid4(),
        domain_name="acme.example.com",
        extension="8000",
        secretary="8000",
        fallback_destination="200",
    )
    extensions = ET.fromstring(xml).findall("extension")  # noqa: S314 (our own template)
    assert [e.get("name") for e in extensions] == ["voice_secretary_8000", "voice_ai_no_route_8000"]
    guard = extensions[-1]
    assert guard.get("continue") in (None, "false")
    pending, destination = guard.findall("condition")
    assert (pending.get("field"), pending.get("expression")) == ("${voice_ai_transfer_pattern}", "^.+$")
    assert (destination.get("field"), destination.get("expression")) == (
        "destination_number",
        "^${voice_ai_transfer_pattern}$",
    )
    assert [(a.get("application"), a.get("data")) for a in destination.findall("action")] == [
        ("lua", "voice_ai_no_route.lua")
    ]
    assert "zz_voice_secretary_8000.xml" in xml  # saved where it sorts after the other files of default/


def test_the_platform_script_never_extracts_over_a_freeswitch_it_did_not_install(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "platform" / "freeswitch.sh"
    someone_elses = tmp_path / "usr" / "local" / "freeswitch"
    (someone_elses / "bin").mkdir(parents=True)
    (someone_elses / "bin" / "freeswitch").write_text("#!/bin/sh\n")
    ran = subprocess.run(
        ["bash", str(script)],
        env={**cli_env(), "VOICE_AI_FREESWITCH_ROOT": str(tmp_path), "VOICE_AI_PLATFORM_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 1 and "refusing" in ran.stderr, ran.stdout + ran.stderr
    assert sorted(p.name for p in someone_elses.iterdir()) == ["bin"]  # untouched


def test_the_service_unit_keeps_the_shared_temp_folder() -> None:
    """FreeSWITCH writes the caller's recordings to its temp_dir (/tmp unless voice_ai_tmp_dir says otherwise);
    with ``voice_ai_audio_path=true`` the service opens them by path. A private /tmp (PrivateTmp=true) would hide
    every recording from the service: each turn would fail and go to the operator."""
    unit = (Path(__file__).resolve().parent.parent / "deploy" / "systemd" / "voice-ai.service").read_text()
    settings = [line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")]
    assert ("PrivateTmp", "true") not in [(k.strip(), v.strip()) for k, v in settings]
