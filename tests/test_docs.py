"""The documentation stays true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pystmark

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_api_reference_lists_every_exported_name() -> None:
    api = (DOCS / "api.rst").read_text()
    documented = set(re.findall(r"\.\. auto(?:function|class|exception|data):: (\w+)", api))
    mentioned = set(re.findall(r"``(\w+)`` is the pystmark 0\.5 name", api))
    missing = [name for name in pystmark.__all__ if name not in documented | mentioned]
    assert missing == []


def test_every_documented_name_exists() -> None:
    api = (DOCS / "api.rst").read_text()
    for name in re.findall(r"\.\. auto(?:function|class|exception|data):: (\w+)", api):
        assert hasattr(pystmark, name), name


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.rst").read_text()
    pages = {path.stem for path in DOCS.glob("*.rst")} - {"index"}
    listed = set(re.findall(r"^   (\w+)$", index, re.MULTILINE))
    assert pages <= listed
