"""Exits tell the truth: every place a run writes is checked before its first write (exit
2 means nothing was written), a configuration names its tenant (never a silent sandbox),
an empty parameter never becomes part of a value, and messages name their cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connector.cli.main import main
from connector.core.clock import now
from connector.core.plan import Plan
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import EXIT_RECORD_ERRORS, EXIT_UNUSABLE, ConfigError
from connector.run.outputs import ReportNotWritten, ReportTarget, publish
from connector.run.tenant import sandbox_path
from connector.sandbox import list_users
from tests.helpers import ROOT, SAMPLE_CSV

DEFAULT = str(ROOT / "mappings" / "default.yaml")
SEEDED = 3


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def sync(*args: str) -> Result:
    return invoke("sync", str(SAMPLE_CSV), "--mapping", DEFAULT, *args)


def nothing_written(state: Path) -> bool:
    """No user in the sandbox beyond its seed, and no run recorded."""
    runs = list((state / "runs").glob("*")) if (state / "runs").is_dir() else []
    users = list_users(sandbox_path(state)) if sandbox_path(state).exists() else []
    return len(users) <= SEEDED and not runs


def config_file(tmp: Path, *, tenant: str | None = "sandbox", extra: str = "",
                parameters: str = "{upn_domain: contoso.com}") -> Path:
    path = tmp / "hr-connector.yaml"
    path.write_text((f"tenant: {tenant}\n" if tenant is not None else "") + f"""
source: {{file: {SAMPLE_CSV}}}
mapping: {DEFAULT}
parameters: {parameters}
paths: {{state: state, reports: reports}}
{extra}
""", encoding="utf-8")
    return path


# --- item 3: outputs checked before the first write -----------------------------------------

def test_a_report_that_cannot_be_written_stops_sync_before_any_write(
    state: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    (tmp_path / "folder.json").mkdir()
    for report, message in [
        (blocker / "r.json", f"the folder of the report {blocker} is a file, not a folder"),
        (tmp_path / "folder.json", f"'{tmp_path / 'folder.json'}' is a directory"),
        (Path("/proc/hrc-no-such/r.json"), "the folder of the report /proc/hrc-no-such "
                                           "cannot be used: "),
    ]:
        result = sync("--report", str(tmp_path / "ok.json"), "--report", str(report))
        assert result.exit_code == EXIT_UNUSABLE, result.output
        assert message in result.output
        assert nothing_written(state)
        assert not (tmp_path / "ok.json").exists()
    result = sync("--report", str(tmp_path / "new" / "deeper" / "r.json"))
    assert result.exit_code == 0, result.output  # a missing folder is made
    assert json.loads((tmp_path / "new" / "deeper" / "r.json").read_text("utf-8"))["run_id"]


def test_a_state_or_runs_folder_that_is_a_file_stops_sync_before_any_write(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state.parent.mkdir(exist_ok=True)
    state.write_text("not a folder", encoding="utf-8")
    result = sync()
    assert result.exit_code == EXIT_UNUSABLE
    assert f"the state folder {state} is a file, not a folder" in result.output
    state.unlink()
    (state / "runs").parent.mkdir()
    (state / "runs").write_text("not a folder", encoding="utf-8")
    result = sync()
    assert result.exit_code == EXIT_UNUSABLE
    assert f"the runs folder {state / 'runs'} is a file, not a folder" in result.output
    assert not sandbox_path(state).exists()


@pytest.mark.parametrize(("paths", "named"), [
    ("paths: {state: state, reports: a-file}", "reports folder (paths.reports)"),
    ("paths: {state: a-file, reports: reports}", "state folder"),
])
def test_run_checks_its_folders_before_any_write(tmp_path: Path, paths: str, named: str) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    config = config_file(tmp_path)
    config.write_text(config.read_text("utf-8").replace(
        "paths: {state: state, reports: reports}", paths), encoding="utf-8")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == EXIT_UNUSABLE, result.output
    assert f"{named} {tmp_path / 'a-file'} is a file, not a folder" in result.output
    assert not sandbox_path(tmp_path / "state").exists()  # the tenant was never opened


def test_a_drop_folder_whose_processed_folder_is_a_file_stops_before_any_write(
    tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "processed").write_text("x", encoding="utf-8")
    (drop / "staff.csv").write_bytes(SAMPLE_CSV.read_bytes())
    config = config_file(tmp_path)
    config.write_text(config.read_text("utf-8").replace(
        f"source: {{file: {SAMPLE_CSV}}}", "source: {folder: {path: drop, stable_seconds: 0}}"),
        encoding="utf-8")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == EXIT_UNUSABLE, result.output
    assert "processed must be a folder" in result.output
    assert not sandbox_path(tmp_path / "state").exists()
    assert (drop / "staff.csv").exists()


def test_a_file_without_the_mapping_columns_stops_sync_before_anything_is_touched(
    state: Path, tmp_path: Path
) -> None:
    export = tmp_path / "wrong.csv"
    export.write_text("a,b\n1,2\n", encoding="utf-8")
    result = invoke("sync", str(export), "--mapping", DEFAULT)
    assert result.exit_code == EXIT_UNUSABLE
    assert "missing required column(s): EmployeeID" in result.output
    # Not the state folder, its lock, the sandbox tenant's file or a snapshot.
    assert not state.exists()


def test_a_configured_file_without_the_mapping_columns_stops_before_any_folder(
    tmp_path: Path
) -> None:
    config = config_file(tmp_path)
    export = tmp_path / "wrong.csv"
    export.write_text("a,b\n1,2\n", encoding="utf-8")
    config.write_text(config.read_text("utf-8").replace(str(SAMPLE_CSV), str(export)),
                      encoding="utf-8")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == EXIT_UNUSABLE and "missing required column(s)" in result.output
    assert not (tmp_path / "state").exists() and not (tmp_path / "reports").exists()


def test_a_source_unusable_midway_leaves_no_tenant_snapshot(state: Path,
                                                            tmp_path: Path) -> None:
    """The tenant is read before the source (the mapping needs its UPNs); its snapshot is
    saved only once the source has been read, so exit 2 still wrote nothing of it."""
    export = tmp_path / "open-quote.csv"
    export.write_text(SAMPLE_CSV.read_text("utf-8") + '999999,"an open quote\n',
                      encoding="utf-8")
    result = invoke("sync", str(export), "--mapping", DEFAULT)
    assert result.exit_code == EXIT_UNUSABLE and "malformed quoting" in result.output
    assert nothing_written(state) and not list(state.glob("tenant-snapshot-*"))
    assert sync().exit_code == 0  # the same run on the whole file saves it
    assert len(list(state.glob("tenant-snapshot-*"))) == 1


def test_a_report_failing_after_the_writes_is_exit_1_not_2(tmp_path: Path) -> None:
    result = SyncResult(run_id="r1", dry_run=False, source="s", mapping="m", tenant="t",
                        started=now(), plan=Plan(changes=[], managed=0, records=0))
    blocked = tmp_path / "a-file"
    blocked.write_text("x", encoding="utf-8")
    target = ReportTarget.by_suffix(blocked / "r.json")
    with pytest.raises(ConfigError):  # nothing was written to the tenant
        publish(result, [target])
    result.outcomes = {0: WriteOutcome(ok=True)}
    with pytest.raises(ReportNotWritten) as caught:
        publish(result, [target])
    assert caught.value.exit_code == EXIT_RECORD_ERRORS
    assert "hr-connector runs show r1" in caught.value.message


# --- empty parameters never become "None" ----------------------------------------------------

@pytest.mark.parametrize("parameters", ["{upn_domain: }", "{upn_domain: null}",
                                        "{upn_domain: '  '}"])
def test_an_empty_parameter_the_mapping_uses_is_an_error_naming_it(
    tmp_path: Path, parameters: str
) -> None:
    result = invoke("run", "--config", str(config_file(tmp_path, parameters=parameters)))
    assert result.exit_code == EXIT_UNUSABLE, result.output
    assert "the parameter upn_domain is empty but this rule uses it" in result.output
    assert "attributes.userPrincipalName" in result.output
    assert not (tmp_path / "state").exists()  # nothing, not even a folder


def test_an_empty_param_option_is_an_error_too(state: Path) -> None:
    result = sync("--param", "upn_domain=")
    assert result.exit_code == EXIT_UNUSABLE
    assert "upn_domain is empty" in result.output and "None" not in result.output
    assert nothing_written(state)


def test_no_value_becomes_the_text_none(state: Path, tmp_path: Path) -> None:
    result = sync("--report", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text("utf-8"))
    values = [json.dumps(change["attributes"]) for change in report["changes"]]
    assert values and not any('"None"' in v or "@None" in v for v in values)
    assert all(u["userPrincipalName"].endswith("@contoso.com")
               for u in list_users(sandbox_path(state)) if u.get("employeeId"))


# --- item 7: no silent sandbox in production -------------------------------------------------

def test_a_configuration_without_a_tenant_is_refused_and_says_how_to_choose(
    tmp_path: Path
) -> None:
    result = invoke("run", "--config", str(config_file(tmp_path, tenant=None)))
    assert result.exit_code == EXIT_UNUSABLE
    assert "tenant: missing: say which tenant to write to: 'tenant: sandbox'" in result.output
    assert not (tmp_path / "state").exists()
    result = invoke("run", "--config", str(config_file(tmp_path, tenant="")))
    assert result.exit_code == EXIT_UNUSABLE and "tenant: say which tenant" in result.output


def test_tenant_sandbox_means_the_sandbox_whatever_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
                        "AZURE_CLIENT_SECRET": "s3cret"}.items():
        monkeypatch.setenv(name, value)
    result = invoke("run", "--config", str(config_file(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "the sandbox tenant" in result.output and "s3cret" not in result.output
    assert len(list_users(sandbox_path(tmp_path / "state"))) == SEEDED + 337


# --- item 8: messages that name the cause ----------------------------------------------------

@pytest.mark.parametrize("url", ["https://graph.microsoft.com/beta/users", "graph.microsoft.com",
                                 "http://graph.microsoft.com", "https://graph.microsoft.com/me"])
def test_an_invalid_graph_url_is_named_before_any_request(state: Path, url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("AZURE_CLIENT_ID", "c")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("HRC_GRAPH_URL", url)
    result = sync()
    assert result.exit_code == EXIT_UNUSABLE, result.output
    assert "HRC_GRAPH_URL (--graph-url) must be the Graph root" in result.output
    assert repr(url) in result.output and "AADSTS" not in result.output


def test_a_configured_graph_url_is_named_by_its_key(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRC_TEST_SECRET", "s3cret")
    tenant = ("\n  tenant_id: contoso.onmicrosoft.com\n  client_id: c\n"
              "  client_secret: {env: HRC_TEST_SECRET}\n"
              "  graph_url: https://graph.microsoft.com/v1.0/users")
    config = config_file(tmp_path, tenant=tenant)
    result = invoke("run", "--config", str(config))
    assert result.exit_code == EXIT_UNUSABLE, result.output
    assert f"tenant.graph_url in {config} must be the Graph root" in result.output
    assert "s3cret" not in result.output


def test_threshold_messages_of_a_configured_run_name_the_policy_key(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    assert invoke("run", "--config", str(config)).exit_code == 0
    truncated = tmp_path / "truncated.csv"
    truncated.write_text("\n".join(SAMPLE_CSV.read_text("utf-8").splitlines()[:120]) + "\n",
                         encoding="utf-8")
    config.write_text(config.read_text("utf-8").replace(str(SAMPLE_CSV), str(truncated)),
                      encoding="utf-8")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 3, result.output
    assert "(policies.max_disables)" in result.output
    assert "--max-disables" not in result.output


def knobs(**changes: Any) -> str:
    return json.dumps(changes)


def test_bad_sandbox_knobs_are_named(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRC_SANDBOX_KNOBS", "latency_ms=5")
    result = sync("--dry-run")
    assert result.exit_code == EXIT_UNUSABLE and "HRC_SANDBOX_KNOBS must be a JSON object" \
        in result.output
    monkeypatch.setenv("HRC_SANDBOX_KNOBS", knobs(latency_msec=5))
    result = sync("--dry-run")
    assert result.exit_code == EXIT_UNUSABLE and "latency_msec" in result.output
