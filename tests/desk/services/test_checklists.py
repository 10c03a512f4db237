"""The mortgage document checklists designers edit (`desk.services.checklists`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.mortgage_intake import EmploymentType
from desk.services.checklists import (
    DEFAULT_CHECKLISTS_PATH,
    ChecklistError,
    load_document_checklists,
    main,
)

VALID = """\
version: 1
documents:
  proof_of_identity: {title: Proof of identity, ask: your passport}
  payslips: {title: Last 3 payslips, ask: your last 3 payslips}
checklists:
  employed: [proof_of_identity, payslips]
  default: [proof_of_identity]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checklists.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_has_a_checklist_for_every_employment_type_the_bot_knows() -> None:
    checklists = load_document_checklists(DEFAULT_CHECKLISTS_PATH)

    own = {employment_type.value for employment_type in EmploymentType} - {"other"}
    assert own <= set(checklists.checklists)  # "other" gets the default
    for employment_type in EmploymentType:
        assert checklists.for_employment(employment_type.value)
    self_employed = [doc.key for doc in checklists.for_employment("self_employed")]
    assert self_employed == ["proof_of_identity", "accounts", "bank_statements", "proof_of_deposit"]
    assert "payslips" in [doc.key for doc in checklists.for_employment("employed")]


def test_an_employment_type_the_file_does_not_list_gets_the_default(tmp_path: Path) -> None:
    checklists = load_document_checklists(write(tmp_path, VALID))

    assert [doc.key for doc in checklists.for_employment("student")] == ["proof_of_identity"]
    assert [doc.key for doc in checklists.for_employment(None)] == ["proof_of_identity"]
    first = checklists.for_employment("employed")[1]
    assert (first.title, first.ask) == ("Last 3 payslips", "your last 3 payslips")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            VALID.replace("[proof_of_identity, payslips]", "[proof_of_identity, p60]"),
            "checklists.employed[1]: unknown document 'p60' (known: payslips, proof_of_identity)",
        ),
        (
            VALID.replace("[proof_of_identity, payslips]", "[payslips, payslips]"),
            "checklists.employed[1]: 'payslips' is already in this checklist",
        ),
        (
            VALID.replace("ask: your passport", "ask: '   '"),
            "documents.proof_of_identity.ask: must not be blank",
        ),
        (
            VALID.replace("  default: [proof_of_identity]\n", ""),
            "checklists: missing required key 'default'",
        ),
        (VALID.replace("version: 1", "version: 2"), "version: must be 1, found 2"),
        (
            VALID.replace("  default:", "  employed: [payslips]\n  default:"),
            "duplicate key 'employed'",
        ),
        (VALID.replace("documents:", "documents: [oops"), "not valid YAML"),
    ],
)
def test_a_broken_file_is_refused_naming_the_mistake(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ChecklistError) as raised:
        load_document_checklists(path)

    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_the_command_line_check_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(write(tmp_path, VALID))]) == 0
    assert "OK: 2 documents, checklists for employed, default" in capsys.readouterr().out

    assert main([str(write(tmp_path, VALID.replace("version: 1", "version: 3")))]) == 1
    assert "version: must be 1, found 3" in capsys.readouterr().err
