"""End to end: a real HTTPS server, a real unmodified msal, httpx verifying TLS against the
sandbox CA (trusted through SSL_CERT_FILE / REQUESTS_CA_BUNDLE); plus the in-process wiring
graph.md §7.2 recommends (real URLs routed to the app)."""

from __future__ import annotations

from pathlib import Path

import httpx
import msal
import pytest

from connector.sandbox import SandboxConfig, create_app, running_sandbox
from connector.sandbox.inprocess import sandbox_client
from tests.sandbox.sandbox_helpers import SCOPE


def test_e2e_msal_token_then_users_over_https(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = SandboxConfig.for_tests(client_secrets={"hr-connector-e2e": "e2e-secret"})
    with running_sandbox(config=config, tls_dir=tmp_path) as server:
        assert server.ca_path is not None and server.base_url.startswith("https://127.0.0.1:")
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_path))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_path))
        app = msal.ConfidentialClientApplication(
            "hr-connector-e2e", client_credential="e2e-secret", authority=server.authority,
            instance_discovery=False)  # msal would ask login.microsoftonline.com otherwise
        result = app.acquire_token_for_client(scopes=[SCOPE])
        assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
        assert result["token_source"] == "identity_provider"
        assert app.acquire_token_for_client(scopes=[SCOPE])["token_source"] == "cache"

        with httpx.Client() as client:  # default verification, CA from SSL_CERT_FILE
            response = client.get(f"{server.graph_url}/users?$select=userPrincipalName",
                                  headers={"Authorization": f"Bearer {result['access_token']}"})
        assert response.status_code == 200
        assert len(response.json()["value"]) == 3
        assert response.json()["@odata.context"].startswith(server.graph_url)

        with httpx.Client(trust_env=False) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{server.graph_url}/users")  # the TLS is real: certifi says no

        wrong = msal.ConfidentialClientApplication(
            "hr-connector-e2e", client_credential="not-it", authority=server.authority,
            instance_discovery=False)
        failed = wrong.acquire_token_for_client(scopes=[SCOPE])
        assert failed["error"] == "invalid_client" and 7000215 in failed["error_codes"]


def test_msal_in_process_with_real_urls() -> None:
    sandbox = create_app(config=SandboxConfig.for_tests())
    client = sandbox_client(sandbox)
    app = msal.ConfidentialClientApplication(
        "in-process", client_credential="x", http_client=client,
        authority=f"https://login.microsoftonline.com/{sandbox.state.tenant_id}")
    result = app.acquire_token_for_client(scopes=[SCOPE])
    response = client.get("https://graph.microsoft.com/v1.0/users",
                          headers={"Authorization": f"Bearer {result['access_token']}"})
    assert response.status_code == 200
    assert response.json()["@odata.context"] == ("https://graph.microsoft.com/v1.0/$metadata"
                                                 "#users")


def test_msal_instance_discovery_answered_by_the_sandbox() -> None:
    sandbox = create_app(config=SandboxConfig.for_tests())
    client = sandbox_client(sandbox)
    authority = f"https://sandbox.test/{sandbox.state.tenant_id}"
    app = msal.ConfidentialClientApplication(
        "in-process", client_credential="x", http_client=client, authority=authority,
        instance_discovery="https://sandbox.test/common/discovery/instance")
    assert "access_token" in app.acquire_token_for_client(scopes=[SCOPE])
