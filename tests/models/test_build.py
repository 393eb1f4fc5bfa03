"""The setup build: a fast no-op when up to date, its record of what it built, reproducibility."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from typer.testing import CliRunner

from models.build import BUILD_RECIPE, build_sentiment, file_sha256
from models.sentiment import ARTIFACTS_DIR, BUILD_INFO_FILE, ENCODER_FILES, TOKENIZER_FILE


def test_file_sha256_matches_hashlib(tmp_path) -> None:
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 5000  # spans several read chunks
    path.write_bytes(data)
    assert file_sha256(path, chunk=4096) == hashlib.sha256(data).hexdigest()


def test_build_is_a_fast_noop_when_up_to_date(sentiment_build) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in sentiment_build.iterdir()}
    start = time.perf_counter()
    assert build_sentiment() == sentiment_build
    assert time.perf_counter() - start < 10  # hashing the 90 MB base weights, no export
    assert {p.name: p.stat().st_mtime_ns for p in sentiment_build.iterdir()} == before


def test_cli_build_prints_the_build_folder(sentiment_build) -> None:
    from cli.main import app

    result = CliRunner().invoke(app, ["build-sentiment"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(sentiment_build)


def test_build_info_records_recipe_adapter_and_file_hashes(sentiment_build) -> None:
    info = json.loads((sentiment_build / BUILD_INFO_FILE).read_text())
    assert info["recipe"] == BUILD_RECIPE
    assert info["adapter"] == "sentiment_lora.safetensors"
    names = {*ENCODER_FILES.values(), TOKENIZER_FILE}
    assert set(info["sha256"]) == names
    for name in names:
        assert info["sha256"][name] == file_sha256(sentiment_build / name), name


@pytest.mark.slow
def test_forced_rebuild_is_byte_identical(sentiment_build, tmp_path) -> None:
    out = build_sentiment(ARTIFACTS_DIR, tmp_path / "build", force=True)
    committed = json.loads((sentiment_build / BUILD_INFO_FILE).read_text())
    rebuilt = json.loads((out / BUILD_INFO_FILE).read_text())
    assert rebuilt["inputs_hash"] == committed["inputs_hash"]
    assert rebuilt["sha256"] == committed["sha256"]
