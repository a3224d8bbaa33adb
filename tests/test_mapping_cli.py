"""`hr-connector expr`, `mapping check` and `preview` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from tests.helpers import ROOT, SAMPLE_CSV

DEFAULT = str(ROOT / "mappings" / "default.yaml")


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("args", "output"), [
    (['Join(".", ToLower([givenName]), [sn])', "--set", "givenName=Zoë", "--set", "sn=O"],
     "zoë.O\n"),
    (['NormalizeDiacritics([x])', "--set", "x=Łukasz Wójcik"], "Lukasz Wojcik\n"),
    (['Split([x], ",")', "--set", "x=a,b", "--json"], '["a", "b"]\n'),
    (['Join("|", [m])', "--set", "m=1", "--set", "m=2"], "1|2\n"),
    (['IsNull([missing])', "--json"], '"True"\n'),
    (['Coalesce([a], [b])', "--set", "a=", "--json"], "null\n"),
    (['Join("@", "x", [%domain%])', "--param", "domain=fabrikam.com"], "x@fabrikam.com\n"),
    (['DefaultDomain()', "--domain", "fabrikam.com"], "fabrikam.com\n"),
    (['SelectUniqueValue("a@x.com", "b@x.com")', "--taken", "A@X.COM"], "b@x.com\n"),
    (['DateDiff("d", "2026-01-01", Now())', "--now", "2026-01-31T10:00:00Z"], "30\n"),
    (['IgnoreFlowIfNullOrEmpty([x])', "--json"], '{"ignored": "attribute"}\n'),
])
def test_expr_evaluates_offline(args: list[str], output: str) -> None:
    code, out, _ = cli("expr", *args)
    assert (code, out) == (0, output)


def test_expr_syntax_error_has_a_caret_and_exit_2() -> None:
    code, out, err = cli("expr", 'Join(",", [a]')
    assert code == 2 and out == ""
    assert "1:14: missing ')'" in err
    assert err.splitlines()[-1] == " " * 17 + "^"


def test_expr_failing_on_its_values_is_exit_1_not_a_traceback() -> None:
    # The expression is fine (exit 2 is for those that are not); these values fail it,
    # as a record would in a run.
    code, _, err = cli("expr", 'CDate([d])', "--set", "d=not a date")
    assert code == 1 and "Traceback" not in err and "not a date" in err


def test_expr_bad_set_option_is_a_usage_error() -> None:
    code, _, err = cli("expr", "[a]", "--set", "novalue")
    assert code == 2 and "is not NAME=VALUE" in err


def test_mapping_check_summarises_a_good_mapping() -> None:
    code, out, _ = cli("mapping", "check", DEFAULT)
    assert code == 0
    assert "OK" in out and "userPrincipalName, mailNickname" in out
    assert "employees OR contractors" in out or "employees (" in out


def test_mapping_check_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: {key: ID}\nattributes:\n  givenName: {expression: 'Lft([a], 1)'}\n"
                   "  surname: {expression: 'Left([b]'}\n  employeeId: {source: ID}\n")
    code, _, err = cli("mapping", "check", str(bad))
    assert code == 2
    assert "attributes.givenName › 1:1: unknown function 'Lft'" in err
    assert "attributes.surname › 1:9" in err


def test_preview_json_shows_desired_users_and_summary() -> None:
    code, out, _ = cli("preview", str(SAMPLE_CSV), "--mapping", DEFAULT, "--format", "json",
                       "--now", "2026-11-26T09:00:00Z")
    assert code == 0
    data = json.loads(out)
    assert data["summary"] == {"mapped": 360, "skipped": 0, "error": 0, "leaver": 18}
    zoe = next(r for r in data["records"] if r["key"] == "000784")
    assert zoe["user"]["employeeOrgData"] == {"division": "People", "costCenter": "CC-3200"}
    assert zoe["user"]["userPrincipalName"] == "zoe.o'brien@contoso.com"
    assert zoe["on_create_only"] == ["mailNickname", "userPrincipalName"]
    assert zoe["manager_key"] == "042692"


def test_preview_one_row_in_detail() -> None:
    code, out, _ = cli("preview", str(SAMPLE_CSV), "--row", "6", "--now", "2026-11-26")
    assert code == 0
    assert "Row 6, key '000784': mapped" in out
    assert "zoe.o'brien@contoso.com" in out and "on create" in out


def test_preview_csv_is_formula_safe(tmp_path: Path) -> None:
    source = tmp_path / "hr.csv"
    source.write_text("ID,First,Last\n1,=cmd|' /C calc'!A0,Lee\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("source: {key: ID}\nattributes:\n  employeeId: {source: ID}\n"
                       "  givenName: {source: First}\n  surname: {source: Last}\n")
    code, out, _ = cli("preview", str(source), "--mapping", str(mapping), "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "row,key,status,employeeId,givenName,surname,manager_key,note"
    assert "'=cmd" in out.splitlines()[1]


def test_preview_reports_scope_and_errors_without_failing(tmp_path: Path) -> None:
    source = tmp_path / "hr.csv"
    source.write_text("ID,Type,Hire\n1,Employee,2024-01-01\n2,Intern,2024-01-01\n"
                      "3,Employee,soon\n3,Employee,2024-01-01\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "source: {key: ID}\nscope:\n  - clauses: [{attribute: Type, operator: EQUALS, "
        "value: Employee}]\nattributes:\n  employeeId: {source: ID}\n  employeeHireDate: "
        "{expression: 'FormatDateTime([Hire], , \"yyyy-MM-dd\", \"yyyy-MM-dd''T''00:00:00Z\")'}\n")
    code, out, _ = cli("preview", str(source), "--mapping", str(mapping), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["summary"] == {"mapped": 1, "skipped": 1, "error": 2, "leaver": 0}
    statuses = {r["row"]: (r["status"], r["reason"] or "", r["errors"]) for r in data["records"]}
    assert "out of scope" in statuses[3][1]
    assert "is used on 2 rows" in statuses[4][2][0]["reason"]


def test_preview_of_unusable_source_or_mapping_exits_2(tmp_path: Path) -> None:
    code, _, err = cli("preview", str(tmp_path / "none.csv"), "--mapping", DEFAULT)
    assert code == 2 and "does not exist" in err
    code, _, err = cli("preview", str(SAMPLE_CSV), "--mapping", str(tmp_path / "none.yaml"))
    assert code == 2 and "mapping file" in err
    code, _, err = cli("preview", str(SAMPLE_CSV), "--param", "nope=1")
    assert code == 2 and "unknown parameter 'nope'" in err


def test_validate_uses_the_mapping_for_required_columns(tmp_path: Path) -> None:
    source = tmp_path / "hr.csv"
    source.write_text("EmployeeID,FirstName\n1,Ann\n", encoding="utf-8")
    code, out, _ = cli("validate", str(source), "--mapping", DEFAULT, "--format", "json")
    assert code == 2
    reason = json.loads(out)["problems"][0]["reason"]
    assert "missing required column(s): City, Company" in reason
    assert "expected by the mapping" in reason
