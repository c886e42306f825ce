"""The field table of docs/sites.md, from the model's own field docs, so the documentation
cannot drift from what the sites file accepts (a test keeps the docs current).

    python -m moodle_assets.sites.reference   # prints the table
"""

from __future__ import annotations

from moodle_assets.common import field_table as common_field_table

from .model import Site


def field_table() -> str:
    """The markdown table of every field of a site, in the model's order."""
    return common_field_table(Site, required_column=True)


if __name__ == "__main__":
    print(field_table(), end="")
