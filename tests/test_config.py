"""The configuration file: only declared paths are made relative to the file, every HR API
setting arrives as written, secrets in API settings are read from the file's folder, and
YAML mistakes name their cause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connector.config import load_config
from connector.errors import ConfigError, MappingError
from connector.mapping import load_mapping
from connector.readers.apis import presets
from connector.readers.apis.presets import open_api_source
from tests.fakes.bamboohr import API_KEY, FakeBambooHR
from tests.fakes.personio import CLIENT_ID, CLIENT_SECRET, FakePersonio


def write(folder: Path, text: str, name: str = "hr-connector.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_declared_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
tenant:
  tenant_id: t
  client_id: c
  certificate: {path: certs/app.pem, password: {file: secrets/pem-pass}}
source: {folder: {path: drop}}
mapping: maps/hr.yaml
paths: {state: state, reports: /var/reports}
serve: {session_secret: {file: secrets/session}}
"""))
    tenant = config.entra_tenant
    assert tenant is not None and tenant.certificate is not None
    assert tenant.certificate.path == tmp_path / "certs" / "app.pem"
    assert tenant.certificate.password is not None
    assert tenant.certificate.password.file == tmp_path / "secrets" / "pem-pass"
    assert config.source is not None and config.source.folder is not None
    assert config.source.folder.path == tmp_path / "drop"
    assert config.mapping == tmp_path / "maps" / "hr.yaml"
    assert config.paths.state == tmp_path / "state"
    assert config.paths.reports == Path("/var/reports")
    assert config.serve.session_secret is not None
    assert config.serve.session_secret.file == tmp_path / "secrets" / "session"
    assert config.folder == tmp_path.resolve()
    file_source = load_config(write(tmp_path, "tenant: sandbox\nsource: {file: x/staff.csv}\n"))
    assert file_source.source is not None
    assert file_source.source.file == tmp_path / "x" / "staff.csv"


def test_retention_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "tenant: sandbox\n"))
    assert config.retention.runs_days == 90 and config.retention.hr_files_days == 30


# Every setting of every HR API preset, with values that look like relative paths where a
# setting takes text: none of them may be rewritten. Generic has one variant per auth and
# paging style (a settings mapping holds one of each).
_SHARED = {"timeout": 12, "max_attempts": 3, "max_wait_seconds": 30, "max_page_mb": 8,
           "name": "exports/hr"}
_GENERIC_BASE = {"url": "https://hr.example.test/people", "records_path": "data.items",
                 "params": {"file": "staff.csv", "path": "x/y"},
                 "headers": {"X-Path": "a/b"}, "max_pages": 50, **_SHARED}
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "generic": [
        {**_GENERIC_BASE, "method": "POST", "body": {"file": "report.csv", "path": "a/b"},
         "auth": {"type": "bearer", "token": {"env": "HR_TOKEN"}},
         "paging": {"type": "next_link", "path": "links.next"}},
        {**_GENERIC_BASE, "auth": {"type": "basic", "username": "svc/hr",
                                   "password": {"env": "HR_PASSWORD"}},
         "paging": {"type": "link_header"}},
        {**_GENERIC_BASE, "auth": {"type": "api_key", "key": {"env": "HR_KEY"},
                                   "header": "X-Api-Key"},
         "paging": {"type": "offset", "offset_param": "skip", "limit_param": "take",
                    "page_size": 25, "start": 0, "total_path": "meta.total"}},
        {**_GENERIC_BASE, "auth": {"type": "oauth2",
                                   "token_url": "https://hr.example.test/oauth/token",
                                   "client_id": "hr-app", "client_secret": {"env": "HR_CS"},
                                   "scope": "people/read"},
         "paging": {"type": "cursor", "param": "after", "path": "meta.next_cursor"}},
        {**_GENERIC_BASE, "paging": {"type": "none"}},
    ],
    "bamboohr": [
        {"company_domain": "contoso", "api_key": {"env": "BAMBOO_KEY"}, "mode": "report",
         "fields": ["id", "firstName", "supervisorEId"], "only_current": False,
         "title": "exports/nightly", "base_url": "BAMBOO", **_SHARED},
        {"company_domain": "contoso", "api_key": {"file": "secrets/bamboo.key"},
         "mode": "directory", "base_url": "BAMBOO", **_SHARED},
    ],
    "personio": [
        {"client_id": CLIENT_ID, "client_secret": {"env": "PERSONIO_SECRET"},
         "base_url": "https://api.personio.de", "page_size": 50,
         "attributes": ["first_name", "last_name"], "offset_mode": "items",
         "partner_id": "partner/1", "app_id": "app/2", **_SHARED},
    ],
}


def _api_config(folder: Path, preset: str, settings: dict[str, Any]) -> Path:
    document = {"tenant": "sandbox", "source": {"api": {"preset": preset, "settings": settings}}}
    return write(folder, yaml.safe_dump(document, sort_keys=False))


@pytest.mark.parametrize(("preset", "index"), [
    (preset, index) for preset, variants in VARIANTS.items() for index in range(len(variants))])
def test_no_api_setting_is_rewritten(tmp_path: Path, preset: str, index: int) -> None:
    settings = VARIANTS[preset][index]
    config = load_config(_api_config(tmp_path, preset, settings))
    assert config.source is not None and config.source.api is not None
    assert config.source.api.settings == settings


def _generic_api(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
    return httpx.Response(200, json={"data": {"items": [{"id": 1}]}, "links": {"next": None},
                                     "meta": {"total": 1, "next_cursor": None}})


def test_the_variants_hold_every_setting_each_preset_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk above is complete: opening every variant records each setting the preset
    reads (present or not), and every one of them is in some variant."""
    read: dict[str, set[str]] = {preset: set() for preset in VARIANTS}
    given: dict[str, set[str]] = {preset: set() for preset in VARIANTS}
    original_get = presets.Settings.get

    def recording_get(self: presets.Settings, name: str) -> Any:
        section = self.where.partition(")")[2].lstrip(".")
        read[current].add(f"{section}.{name}" if section else name)
        return original_get(self, name)

    def names(settings: dict[str, Any], prefix: str = "") -> set[str]:
        found = set()
        for key, value in settings.items():
            found.add(prefix + key)
            if key in ("auth", "paging"):
                found |= names(value, f"{key}.")
        return found

    monkeypatch.setattr(presets.Settings, "get", recording_get)
    secrets = {"HR_TOKEN": "t", "HR_PASSWORD": "p", "HR_KEY": "k", "HR_CS": "s",
               "BAMBOO_KEY": API_KEY, "PERSONIO_SECRET": CLIENT_SECRET}
    for current, variants in VARIANTS.items():
        for settings in variants:
            given[current] |= names(settings)
            transport: httpx.BaseTransport
            if current == "bamboohr":
                fake = FakeBambooHR()
                settings = {**settings, "base_url": fake.base_url()}
                transport = fake.transport()
            elif current == "personio":
                transport = FakePersonio().transport()
            else:
                transport = httpx.MockTransport(_generic_api)
            reader = open_api_source(
                current, settings, transport=transport,
                secrets=lambda ref: secrets.get(ref.get("env"), API_KEY))
            assert list(reader.records())
    for preset in VARIANTS:
        assert read[preset] <= given[preset], (preset, read[preset] - given[preset])
    assert {"paging.path", "auth.header", "records_path", "timeout"} <= read["generic"]
    assert {"only_current", "mode", "api_key"} <= read["bamboohr"]


def test_api_secret_files_are_read_from_the_configuration_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "bamboo.key").write_text(f"{API_KEY}\n", encoding="utf-8")
    config = load_config(_api_config(tmp_path, "bamboohr", VARIANTS["bamboohr"][1]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working folder plays no part
    resolve = config.secret_resolver()
    assert resolve({"file": "secrets/bamboo.key"}) == API_KEY
    with pytest.raises(ConfigError, match="must not be written in the settings"):
        resolve("plain text")
    with pytest.raises(ConfigError, match="secrets/missing cannot be read"):
        resolve({"file": "secrets/missing"})


@pytest.mark.parametrize(("text", "expected"), [
    ("tenant: sandbox\nsource:\n\tfile: x.csv\n",
     "a tab at line 3, column 1; YAML indents with spaces, not tabs"),
    ("tenant: sandbox\nmapping: a: b\n", "a ':' that YAML cannot place at line 2"),
    ('tenant: sandbox\nmapping: "open\n', "a quote opened at line 2, column 10 is never "
                                          "closed"),
    ("tenant: sandbox\npaths:\n  state: s\n reports: r\n",
     "the indentation at line 4, column 2 does not line up"),
    ("tenant: sandbox\nreports: [json, html\n", "a '[' opened at line 2, column 10 is not "
                                                "closed"),
    ("tenant: sandbox\nmapping: @maps\n", "'@' at line 2, column 10 cannot start a value"),
])
def test_yaml_mistakes_name_their_cause(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert expected in caught.value.message
    assert "YAML syntax error" in caught.value.message
    mapping = write(tmp_path, text, "mapping.yaml")
    with pytest.raises(MappingError) as in_mapping:
        load_mapping(mapping)
    assert expected in in_mapping.value.detailed()


def test_a_control_character_and_non_utf8_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"character #x0007 at position 18"):
        load_config(write(tmp_path, "tenant: sandbox\n#\x07\n"))
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("tenant: sandbox\n# Zo\xeb\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(bad)
