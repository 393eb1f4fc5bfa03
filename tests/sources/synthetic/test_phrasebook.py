"""The phrase files: installed with the package, cover the vocabulary, fail clearly when broken."""

from __future__ import annotations

import fnmatch
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from sources.synthetic.phrasebook import (
    AGENT_KINDS,
    MENTIONS,
    N_BANDS,
    NOTE_KINDS,
    PHRASE_FILES,
    PRODUCT_AREAS,
    PhrasebookError,
    load_phrasebook,
)

ROOT = Path(__file__).resolve().parents[3]
PHRASES = ROOT / "sources" / "synthetic" / "phrases"


def test_default_phrasebook_covers_the_vocabulary():
    book = load_phrasebook()
    assert set(book.things) == set(PRODUCT_AREAS)
    assert set(book.mentions) == set(MENTIONS)
    assert set(book.agent_bodies) == set(AGENT_KINDS)
    assert set(book.note_templates) == set(NOTE_KINDS)
    assert all(len(tiers) == N_BANDS for tiers in book.agent_bodies.values())
    assert len(book.greetings) == N_BANDS
    # Tables are immutable tuples, like the literals they replaced.
    assert isinstance(book.greetings, tuple) and isinstance(book.greetings[0], tuple)
    assert all(isinstance(noun, str) and isinstance(pl, bool) for noun, pl in book.things["api"])
    assert load_phrasebook() is book  # loaded once


def test_phrase_files_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["sources"]
    files = sorted(p.relative_to(ROOT / "sources").as_posix() for p in PHRASES.glob("*"))
    assert files == sorted(f"synthetic/phrases/{name}" for name in PHRASE_FILES)
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in patterns), f


def _broken(tmp_path: Path, name: str, edit) -> Path:
    folder = tmp_path / "phrases"
    shutil.copytree(PHRASES, folder)
    content = json.loads((folder / name).read_text())
    edit(content)
    (folder / name).write_text(json.dumps(content))
    return folder


def test_a_copy_of_the_files_loads_like_the_installed_ones(tmp_path):
    assert load_phrasebook(_broken(tmp_path, "details.json", lambda c: None)) == load_phrasebook()


@pytest.mark.parametrize(
    ("name", "edit", "words"),
    [
        ("products.json", lambda c: c["things"].pop("webhooks"), ["products.json", "'things'"]),
        ("customer.json", lambda c: c["greetings"].pop(), ["customer.json", "'greetings'", "4"]),
        ("agent.json", lambda c: c.update(agent_moods=[]), ["agent.json", "'agent_moods'"]),
        ("details.json", lambda c: c.pop("days"), ["missing", "days"]),
        (
            "details.json",
            lambda c: c["artifact_frames"].pop("quote"),
            ["details.json", "quote", "no frames"],
        ),
    ],
)
def test_a_broken_file_names_the_file_and_the_table(tmp_path, name, edit, words):
    with pytest.raises(PhrasebookError) as info:
        load_phrasebook(_broken(tmp_path, name, edit))
    for w in words:
        assert w in str(info.value)


def test_missing_or_invalid_file(tmp_path):
    folder = _broken(tmp_path, "agent.json", lambda c: None)
    (folder / "agent.json").write_text("{not json")
    with pytest.raises(PhrasebookError, match="agent.json: not valid JSON"):
        load_phrasebook(folder)
    (folder / "agent.json").unlink()
    with pytest.raises(PhrasebookError, match="agent.json: phrase file is missing"):
        load_phrasebook(folder)
