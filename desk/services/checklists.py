"""Which documents a mortgage application needs: the checklists conversation designers edit.

`content/document_checklists.yml` lists every document the bank may ask for (its title, and
the words the bot asks for it with) and, for each employment type, the documents it needs in
the order the bot asks for them; `default` serves a type the file does not list. It is checked
against `schemas/document_checklists.schema.json` plus the rules JSON Schema cannot express
(every listed document is defined; none is listed twice in one checklist). Any problem raises
`ChecklistError` naming the file and the YAML path of the mistake.

Run ``python -m desk.services.checklists [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from jsonschema import Draft7Validator

from contentsupport.designer_files import (
    check_command,
    read_yaml,
    report,
    schema_problems,
    schema_validator,
)
from desk.settings import PROJECT_ROOT

SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "document_checklists.schema.json"
DEFAULT_CHECKLISTS_PATH: Final = PROJECT_ROOT / "content" / "document_checklists.yml"
#: The checklist of an employment type the file does not list.
DEFAULT_CHECKLIST: Final = "default"


class ChecklistError(ValueError):
    """A checklist file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class RequiredDocument:
    """A document the bank may ask for."""

    key: str
    title: str
    ask: str


@dataclass(frozen=True)
class DocumentChecklists:
    """Every document, and which of them each employment type needs, in asking order."""

    documents: Mapping[str, RequiredDocument]
    checklists: Mapping[str, tuple[str, ...]]

    def for_employment(self, employment_type: str | None) -> tuple[RequiredDocument, ...]:
        """The documents an applicant of this employment type is asked for, in order."""
        keys = self.checklists.get(employment_type or "", self.checklists[DEFAULT_CHECKLIST])
        return tuple(self.documents[key] for key in keys)


def load_document_checklists(path: Path = DEFAULT_CHECKLISTS_PATH) -> DocumentChecklists:
    """Read, validate and return the checklists in `path`.

    Raises:
        ChecklistError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path)
    document = read_yaml(path, ChecklistError)
    problems = schema_problems(_validator(), document) or _listing_problems(document)
    if problems:
        raise ChecklistError(report(path, problems))
    return _build(document)


@lru_cache(maxsize=1)
def document_checklists() -> DocumentChecklists:
    """The shipped checklists, loaded once per process."""
    return load_document_checklists()


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    return schema_validator(SCHEMA_PATH)


def _listing_problems(document: Mapping[str, Any]) -> list[str]:
    known = set(document["documents"])
    problems = []
    for employment_type, keys in document["checklists"].items():
        seen: set[str] = set()
        for index, key in enumerate(keys):
            where = f"checklists.{employment_type}[{index}]"
            if key not in known:
                problems.append(
                    f"{where}: unknown document {key!r} (known: {', '.join(sorted(known))})"
                )
            elif key in seen:
                problems.append(f"{where}: {key!r} is already in this checklist")
            seen.add(key)
    return problems


def _build(document: Mapping[str, Any]) -> DocumentChecklists:
    documents = {
        key: RequiredDocument(key=key, title=raw["title"].strip(), ask=raw["ask"].strip())
        for key, raw in document["documents"].items()
    }
    checklists = {name: tuple(keys) for name, keys in document["checklists"].items()}
    return DocumentChecklists(
        documents=MappingProxyType(documents), checklists=MappingProxyType(checklists)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Validate a checklist file; print what is wrong and return 1, or a summary and return 0."""
    return check_command(
        argv,
        prog="python -m desk.services.checklists",
        what="a mortgage document checklist file",
        default_path=DEFAULT_CHECKLISTS_PATH,
        load=load_document_checklists,
        error=ChecklistError,
        summary=lambda loaded: (
            f"{len(loaded.documents)} documents, checklists for {', '.join(loaded.checklists)}"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
