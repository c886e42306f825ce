"""docs/sites.md shows the sites file's fields as the model has them."""

from __future__ import annotations

from pathlib import Path

from moodle_assets.sites.reference import field_table

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_field_table_is_the_models():
    docs = (ROOT / "docs" / "sites.md").read_text(encoding="utf-8")
    assert field_table() in docs
    assert "every table of the warehouse holds every site's rows" in docs


def test_the_readme_links_the_sites_docs():
    assert "`docs/sites.md`" in (ROOT / "README.md").read_text(encoding="utf-8")
