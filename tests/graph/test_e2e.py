"""End to end: the sandbox served over HTTPS on 127.0.0.1, settings read from the
environment exactly as in production, real msal and real httpx, the CA trusted only through
SSL_CERT_FILE / REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.graph import GraphClient, GraphSettings, Operation
from connector.sandbox import SandboxConfig, running_sandbox
from tests.graph.helpers import user_body


def test_token_create_and_list_over_https(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = SandboxConfig.for_tests(client_secrets={"hr-connector-e2e": "e2e-secret-value"})
    with running_sandbox(config=config, tls_dir=tmp_path) as server:
        assert server.ca_path is not None and server.base_url.startswith("https://127.0.0.1:")
        for name, value in {
            "AZURE_TENANT_ID": server.tenant_id,
            "AZURE_CLIENT_ID": "hr-connector-e2e",
            "AZURE_CLIENT_SECRET": "e2e-secret-value",
            "AZURE_AUTHORITY_HOST": server.base_url,
            "HRC_GRAPH_URL": server.base_url,
            # The sandbox issues tokens for Graph's resource id only, whatever its address.
            "HRC_GRAPH_SCOPE": "https://graph.microsoft.com/.default",
            "SSL_CERT_FILE": str(server.ca_path),
            "REQUESTS_CA_BUNDLE": str(server.ca_path),
        }.items():
            monkeypatch.setenv(name, value)
        settings = GraphSettings.from_env(os.environ).require()
        assert not settings.authority_is_known  # so msal skips instance discovery
        with GraphClient.from_settings(settings) as graph:
            assert len(graph.list_users(["displayName"])) == 3
            new_id = graph.create_user(user_body("e2e", "E2E001"),
                                       match=("employeeId", "E2E001"), ref="E2E001")
            results = graph.execute([Operation("update", new_id, {"jobTitle": "Tester"},
                                               ref="E2E001")])
            assert results[0].ok and results[0].request_id
            users = graph.list_users(["displayName", "jobTitle"])
        assert len(users) == 4
        mine = next(u for u in users if u["id"] == new_id)
        assert (mine["employeeId"], mine["jobTitle"], mine["manager"]) == ("E2E001", "Tester",
                                                                           None)
        assert server.app.state.stats["token_requests"] == 1
