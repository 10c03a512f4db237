"""The local disk store of documents (`desk.document_store`) and where it is configured."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from desk.document_store import InvalidStorageKey, LocalDiskStore, StoredFileMissing
from desk.settings import PROJECT_ROOT, DeskSettings

SECRETS = {"HANDOFF_SECRET": "h", "RASA_AUTH_TOKEN": "r"}
KEY = "applications/MTG-7K3Q9/0f5c2a9e-6d1b-4c4e-9a43-2b7f1c0d9e21.pdf"


@pytest.fixture
def store(tmp_path: Path) -> LocalDiskStore:
    return LocalDiskStore(tmp_path / "documents")


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_a_file_is_stored_under_its_key_and_read_back(store: LocalDiskStore) -> None:
    store.put(KEY, b"%PDF-1.4 payslip")

    assert store.get(KEY) == b"%PDF-1.4 payslip"
    assert files_under(store.root) == [store.root / KEY]


def test_only_the_desks_user_may_read_a_stored_file(store: LocalDiskStore) -> None:
    store.put(KEY, b"personal")

    mode = stat.S_IMODE(os.stat(store.root / KEY).st_mode)
    assert mode & (stat.S_IRWXG | stat.S_IRWXO) == 0


def test_a_key_is_written_again_whole(store: LocalDiskStore) -> None:
    store.put(KEY, b"first version, rather longer")
    store.put(KEY, b"second")

    assert store.get(KEY) == b"second"
    assert files_under(store.root) == [store.root / KEY]


def test_a_failed_write_leaves_nothing_behind(
    store: LocalDiskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)

    with pytest.raises(OSError, match="No space left"):
        store.put(KEY, b"half a file")

    assert files_under(store.root) == []


def test_deleting_removes_the_file_and_a_missing_one_is_no_error(store: LocalDiskStore) -> None:
    store.put(KEY, b"data")

    store.delete(KEY)
    store.delete(KEY)

    assert files_under(store.root) == []
    with pytest.raises(StoredFileMissing):
        store.get(KEY)


@pytest.mark.parametrize(
    "key",
    [
        "../outside.pdf",
        "applications/../../outside.pdf",
        "/etc/passwd",
        "applications\\..\\outside.pdf",
        "applications//x.pdf",
        "applications/./x.pdf",
        ".hidden",
        "applications/x.pdf\x00.png",
        "",
        "a" * 256,
    ],
)
def test_a_key_that_could_escape_the_root_is_refused(
    store: LocalDiskStore, tmp_path: Path, key: str
) -> None:
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key), lambda: store.delete(key)):
        with pytest.raises(InvalidStorageKey):
            call()

    assert files_under(tmp_path) == []


def test_a_symbolic_link_out_of_the_root_is_refused(store: LocalDiskStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir()
    (store.root / "applications").symlink_to(outside)

    with pytest.raises(InvalidStorageKey, match="outside the store"):
        store.put(KEY, b"x")

    assert files_under(outside) == []


def test_the_documents_dir_defaults_to_var_documents_of_the_project() -> None:
    assert DeskSettings.from_env(SECRETS).documents_dir == PROJECT_ROOT / "var" / "documents"


def test_a_relative_documents_dir_is_read_from_the_project_root(tmp_path: Path) -> None:
    relative = DeskSettings.from_env({**SECRETS, "DESK_DOCUMENTS_DIR": "data/uploads"})
    absolute = DeskSettings.from_env({**SECRETS, "DESK_DOCUMENTS_DIR": str(tmp_path)})

    assert relative.documents_dir == PROJECT_ROOT / "data" / "uploads"
    assert absolute.documents_dir == tmp_path
