"""Settings from the environment, msal tokens (reuse, refresh, certificate), one clear
message per token error, and the secret never shown anywhere."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connector.errors import AuthError, ConfigError
from connector.graph import (
    GraphClient,
    GraphSettings,
    MsalTokenProvider,
    RetryPolicy,
    load_certificate,
)
from connector.sandbox import SandboxConfig, SyncASGITransport, create_app
from tests.graph.helpers import CLIENT_ID, SECRET, FakeClock, make_tenant, token_provider

ENV = {"AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": CLIENT_ID,
       "AZURE_CLIENT_SECRET": SECRET}


# --- settings ------------------------------------------------------------------------------
def test_settings_read_azure_identity_names_and_overrides() -> None:
    env = {**ENV, "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us/",
           "HRC_GRAPH_URL": "https://graph.microsoft.us", "AZURE_CLIENT_CERTIFICATE_PATH": "",
           "SSL_CERT_FILE": "/etc/a.pem", "REQUESTS_CA_BUNDLE": "/etc/a.pem"}
    settings = GraphSettings.from_env(env, client_id=None, tenant_id="other-tenant")
    assert settings.configured and settings.tenant_id == "other-tenant"
    assert settings.client_id == CLIENT_ID and settings.certificate_path is None
    assert settings.authority == "https://login.microsoftonline.us/other-tenant"
    assert settings.authority_is_known
    assert settings.graph_base == "https://graph.microsoft.us/v1.0"
    assert settings.token_scope == "https://graph.microsoft.us/.default"
    assert settings.ca_files == ("/etc/a.pem",)
    defaults = GraphSettings.from_env({})
    assert not defaults.configured and defaults.authority_host == (
        "https://login.microsoftonline.com")
    assert defaults.graph_base == "https://graph.microsoft.com/v1.0"
    assert GraphSettings(graph_url="https://graph.microsoft.com/v1.0/").graph_base == (
        "https://graph.microsoft.com/v1.0")
    assert not GraphSettings(authority_host="https://login.example.test").authority_is_known
    with pytest.raises(TypeError, match="no_such"):
        GraphSettings.from_env({}, no_such="x")


@pytest.mark.parametrize(("env", "missing"), [
    ({}, ["AZURE_TENANT_ID", "AZURE_CLIENT_ID",
          "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"]),
    ({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"},
     ["AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"]),
    ({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_CERTIFICATE_PATH": "/x.pem"}, ["AZURE_CLIENT_ID"]),
])
def test_missing_settings_name_the_variables(env: dict[str, str], missing: list[str]) -> None:
    settings = GraphSettings.from_env(env)
    assert not settings.configured and settings.missing() == missing
    with pytest.raises(ConfigError, match=missing[-1]):
        settings.require()


@pytest.mark.parametrize(("name", "value"), [
    ("AZURE_AUTHORITY_HOST", "http://login.microsoftonline.com"),
    ("AZURE_AUTHORITY_HOST", "https://"),
    ("HRC_GRAPH_URL", "ftp://graph.microsoft.com"),
])
def test_bad_urls_are_config_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        GraphSettings.from_env({**ENV, name: value})


def test_ca_bundle_that_does_not_exist(tmp_path: Path) -> None:
    settings = GraphSettings.from_env({"SSL_CERT_FILE": str(tmp_path / "nope.pem")})
    with pytest.raises(ConfigError, match="nope.pem"):
        settings.ssl_context()


# --- tokens --------------------------------------------------------------------------------
def test_one_token_serves_many_calls_and_a_401_fetches_a_new_one() -> None:
    tenant = make_tenant()
    for _ in range(5):
        tenant.graph.list_users(["displayName"])
    tenant.graph.execute([])
    stats = tenant.app.state.stats
    assert stats["token_requests"] == 1 and stats["requests"] == 5
    tenant.config.tokens_not_before = tenant.clock() + 1  # revoke: Graph answers 401
    tenant.clock.sleep(2)
    assert len(tenant.graph.list_users(["displayName"])) == 3
    assert stats["token_requests"] == 2 and stats["status_401"] == 1


def test_token_provider_reuses_msal_cache() -> None:
    tenant = make_tenant()
    provider = token_provider(tenant)
    assert len({provider() for _ in range(10)}) == 1
    assert tenant.app.state.stats["token_requests"] == 1


def _provider(config: SandboxConfig, **settings: Any) -> tuple[MsalTokenProvider, Any]:
    app = create_app(config=config, clock=FakeClock())
    values: dict[str, Any] = {"tenant_id": app.state.tenant_id, "client_id": CLIENT_ID,
                              "client_secret": SECRET, **settings}
    http = httpx.Client(transport=SyncASGITransport(app))
    return MsalTokenProvider(GraphSettings(**values), http=http), app


@pytest.mark.parametrize(("config", "settings", "code", "text"), [
    ({"client_secrets": {CLIENT_ID: "the-real-one"}}, {}, "AADSTS7000215",
     "client secret is wrong"),
    ({"client_secrets": {"someone-else": "x"}}, {}, "AADSTS700016",
     "application was not found"),
    ({"accept_any_tenant": False}, {"tenant_id": "nowhere.example.com"}, "AADSTS90002",
     "tenant was not found"),
    ({}, {"scope": "https://graph.microsoft.com"}, "AADSTS1002012", "scope is not valid"),
    ({}, {"graph_url": "https://graph.contoso.test"}, "AADSTS500011",
     "resource of the scope"),
])
def test_each_token_error_has_a_clear_message(config: dict[str, Any], settings: dict[str, Any],
                                              code: str, text: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    provider, _ = _provider(SandboxConfig.for_tests(**config), **settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as caught:
        provider()
    error = caught.value
    assert error.code == code and text in error.message
    assert SECRET not in error.detailed() + repr(error) + caplog.text + repr(provider)


@pytest.mark.parametrize(("codes", "text"), [
    ([70011], "scope is not valid"), ([7000222], "expired"),
    ([9999999], "weird_error: AADSTS9999999: Something odd."),
])
def test_token_error_table(codes: list[int], text: str) -> None:
    def identity(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            root = "https://login.microsoftonline.com/t"
            return httpx.Response(200, json={"authorization_endpoint": f"{root}/authorize",
                                             "token_endpoint": f"{root}/oauth2/v2.0/token"})
        return httpx.Response(400, json={
            "error": "weird_error", "error_codes": codes,
            "error_description": f"AADSTS{codes[0]}: Something odd.\r\nTrace ID: x"})

    settings = GraphSettings(tenant_id="t", client_id="c", client_secret=SECRET,
                             authority_host="https://login.example.test")
    provider = MsalTokenProvider(settings,
                                 http=httpx.Client(transport=httpx.MockTransport(identity)))
    with pytest.raises(AuthError, match=text) as caught:
        provider()
    assert caught.value.code == f"AADSTS{codes[0]}"


def test_an_unreachable_authority_is_an_auth_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    settings = GraphSettings.from_env(ENV, authority_host="https://login.example.test")
    graph = GraphClient.from_settings(settings, transport=httpx.MockTransport(refuse),
                                      policy=RetryPolicy(max_attempts=1))
    with pytest.raises(AuthError, match="cannot reach the authority https://login.example.test"):
        graph.list_users([])


def test_a_custom_authority_host_never_calls_the_public_cloud() -> None:
    app = create_app(config=SandboxConfig.for_tests(), clock=FakeClock())
    hosts: list[str] = []
    inner = SyncASGITransport(app)

    class Recording(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            hosts.append(request.url.host)
            return inner.handle_request(request)

    for authority in ("https://login.sovereign.example", "https://login.microsoftonline.us"):
        hosts.clear()
        settings = GraphSettings(tenant_id=app.state.tenant_id, client_id=CLIENT_ID,
                                 client_secret=SECRET, authority_host=authority,
                                 scope="https://graph.microsoft.com/.default")
        MsalTokenProvider(settings, http=httpx.Client(transport=Recording()))()
        assert set(hosts) == {authority.removeprefix("https://")}


def test_the_secret_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        tenant = make_tenant()
        tenant.graph.list_users(["displayName"])
        settings = GraphSettings.from_env(ENV, certificate_password="pfx-password-1")
        provider = token_provider(tenant)
        token = provider()
        shown = [repr(settings), str(settings), repr(provider), repr(tenant.graph.http.auth),
                 caplog.text]
    assert tenant.app.state.stats["token_requests"] == 2
    for text in shown:
        assert SECRET not in text and "pfx-password-1" not in text and token not in text


# --- certificates --------------------------------------------------------------------------
def _certificate(tmp_path: Path, password: str | None) -> tuple[Path, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CLIENT_ID)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    path = tmp_path / "app.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption)
                     + cert.public_bytes(serialization.Encoding.PEM))
    return path, cert


@pytest.mark.parametrize("password", [None, "cert-pass-77"])
def test_certificate_credential(tmp_path: Path, password: str | None) -> None:
    path, cert = _certificate(tmp_path, password)
    credential = load_certificate(str(path), password)
    assert credential["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex().upper()
    assert "ENCRYPTED" not in credential["private_key"]
    # The sandbox checks the assertion's issuer when client secrets are configured.
    provider, app = _provider(SandboxConfig.for_tests(client_secrets={CLIENT_ID: "unused"}),
                              client_secret=None, certificate_path=str(path),
                              certificate_password=password)
    assert provider().count(".") == 2 and app.state.stats["token_requests"] == 1


def test_certificate_problems_are_config_errors(tmp_path: Path) -> None:
    path, _ = _certificate(tmp_path, "right-password")
    with pytest.raises(ConfigError, match="AZURE_CLIENT_CERTIFICATE_PASSWORD") as caught:
        load_certificate(str(path), "wrong-password")
    assert "wrong-password" not in caught.value.message
    with pytest.raises(ConfigError, match="cannot read"):
        load_certificate(str(tmp_path / "missing.pem"))
    (tmp_path / "key-only.pem").write_bytes(path.read_bytes().split(b"-----BEGIN CERT")[0])
    with pytest.raises(ConfigError, match="AZURE_CLIENT_CERTIFICATE_PATH"):
        load_certificate(str(tmp_path / "key-only.pem"), "right-password")


def test_an_authority_outage_is_an_auth_error_naming_the_status() -> None:
    provider, _ = _provider(SandboxConfig.for_tests(token_fault_next=1))
    with pytest.raises(AuthError, match="answered HTTP 503") as caught:
        provider()
    assert caught.value.status == 503
