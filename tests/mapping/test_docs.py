"""The mapping documentation stays true: every YAML example in mappings/README.md
compiles, and every shipped mapping passes `mapping check`."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from connector.mapping import compile_mapping_text
from tests.helpers import ROOT

README = (ROOT / "mappings" / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_readme_example_compiles(example: str) -> None:
    mapping = compile_mapping_text(example, file="mappings/README.md")
    assert mapping.rules


@pytest.mark.parametrize("path", sorted((ROOT / "mappings").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_mapping_checks_clean(path: object) -> None:
    result = CliRunner().invoke(main, ["mapping", "check", str(path)])
    assert result.exit_code == 0, result.output


def test_readme_lists_every_function() -> None:
    from connector.mapping.expr import FUNCTIONS
    missing = [name for name in FUNCTIONS if f"`{name}(" not in README]
    assert missing == []
