"""The model digest: SHA-256 over the canonical manifest of every file (docs/worker-engine.md)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from attestgw.errors import ConfigError
from attestgw.worker.engine import manifest_bytes, model_digest, model_manifest


@pytest.fixture
def model_copy(tmp_path: Path, tiny_dir: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(tiny_dir, target)
    return target


def test_digest_follows_the_documented_formula(tiny_dir: Path) -> None:
    files = []
    for path in sorted(tiny_dir.iterdir(), key=lambda p: p.name.encode()):
        data = path.read_bytes()
        files.append({"path": path.name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    canonical = json.dumps({"files": files, "v": 1}, sort_keys=True, separators=(",", ":")).encode()
    assert manifest_bytes(model_manifest(tiny_dir)) == canonical
    assert model_digest(tiny_dir) == hashlib.sha256(canonical).hexdigest()


def test_digest_does_not_depend_on_the_directory_location(tiny_dir: Path, model_copy: Path) -> None:
    assert model_digest(model_copy) == model_digest(tiny_dir)


def test_one_changed_byte_changes_the_digest(tiny_dir: Path, model_copy: Path) -> None:
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert model_digest(model_copy) != model_digest(tiny_dir)


def test_added_renamed_or_nested_files_change_the_digest(tiny_dir: Path, model_copy: Path) -> None:
    reference = model_digest(tiny_dir)
    (model_copy / "README.md").write_text("notes")
    added = model_digest(model_copy)
    assert added != reference
    (model_copy / "README.md").rename(model_copy / "NOTES.md")
    assert model_digest(model_copy) not in (reference, added)
    (model_copy / "sub").mkdir()
    (model_copy / "NOTES.md").rename(model_copy / "sub" / "NOTES.md")
    paths = [entry.path for entry in model_manifest(model_copy)]
    assert "sub/NOTES.md" in paths
    assert paths == sorted(paths, key=str.encode)


def test_links_to_files_count_as_the_file(tiny_dir: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    for path in tiny_dir.iterdir():
        (linked / path.name).symlink_to(path)
    assert model_digest(linked) == model_digest(tiny_dir)


def test_a_link_to_a_directory_is_refused(model_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (model_copy / "shards").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError) as info:
        model_digest(model_copy)
    assert info.value.code == "config.model_invalid"


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        model_digest(tmp_path / "absent")
    assert info.value.code == "config.model_invalid"
