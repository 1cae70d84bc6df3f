"""The deploy files and the README's deployment section name only settings, commands and
endpoints that exist, so they cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from aiohttp import web

from bot.channels.health import Health
from bot.cli.main import app
from bot.core.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = sorted((ROOT / "deploy").iterdir())
SETTING = re.compile(r"\b((?:THIDUA|TELEGRAM|ZALO)_[A-Z_]+|DATABASE_URL)\b")
#: A command as it is run: at a line's start, after a path (`/opt/thidua/bin/thidua`), a
#: backtick, `exec`, `&&`, `compose exec bot`; or as JSON (`["thidua", "run"]`). Not prose.
_BEFORE = r"(?:^|(?<=bin/)|(?<=[`\"])|(?<=exec )|(?<=&& )|(?<=bot ))"
COMMAND = re.compile(
    _BEFORE + r"thidua ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?" + r'|"thidua",\s*"([a-z][a-z-]*)"',
    re.M,
)
ENDPOINT = re.compile(r"(/(?:healthz|readyz|metrics)\b)")
NOT_SETTINGS = {"THIDUA_TEST_DATABASE_URL"}


def deployment_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Deployment")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end > 0 else None]


def sources() -> list[tuple[str, str]]:
    return [(p.name, p.read_text()) for p in DEPLOY] + [("README", deployment_section())]


def test_every_deploy_file_is_there():
    names = {p.name for p in DEPLOY}
    assert {"thidua.service", "Dockerfile", "compose.yaml", "nginx.conf"} <= names


@pytest.mark.parametrize(("name", "text"), sources(), ids=lambda v: v if len(v) < 30 else "")
def test_settings_named_exist(name, text):
    aliases = {f.alias for f in Settings.model_fields.values()}
    named = set(SETTING.findall(text)) - NOT_SETTINGS
    assert named, f"{name} names no setting"
    assert named <= aliases, f"{name}: unknown settings {sorted(named - aliases)}"


@pytest.mark.parametrize(("name", "text"), sources(), ids=lambda v: v if len(v) < 30 else "")
def test_commands_named_exist(name, text):
    root = typer.main.get_command(app)
    commands = root.commands  # type: ignore[attr-defined]  (a group)
    found = COMMAND.findall(text)
    assert found or name == "nginx.conf", f"{name} names no command"
    for plain, second, json_form in found:
        first = plain or json_form
        assert first in commands, f"{name}: no command `thidua {first}`"
        group = commands[first]
        if hasattr(group, "commands") and second:
            assert second in group.commands, f"{name}: no command `thidua {first} {second}`"


def test_endpoints_named_exist():
    served = web.Application()
    Health(get_settings(), ()).mount(served)
    paths = {r.resource.canonical for r in served.router.routes() if r.resource is not None}
    for name, text in sources():
        for path in ENDPOINT.findall(text):
            assert path in paths, f"{name}: {path} is not served"


def test_the_proxy_forwards_the_webhook_paths_it_documents():
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    urls = re.findall(r"_WEBHOOK_URL=https://[^/\s]+(/\S*)", text)
    locations = set(re.findall(r"location = (\S+)", text))
    assert urls and set(urls) <= locations


def test_the_container_runs_the_bot_and_checks_healthz():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert 'CMD ["thidua", "run"]' in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    unit = (ROOT / "deploy" / "thidua.service").read_text()
    for line in ("EnvironmentFile=", "Restart=on-failure", "User=thidua", "NoNewPrivileges=yes"):
        assert line in unit
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert "image: postgres:" in compose and "thidua-home:/data" in compose
