"""Identifier handling: table names come from endpoint specs, which users write, so every
name reaching SQL is split and quoted here rather than pasted into statements."""

from __future__ import annotations

from dataclasses import dataclass

from moodle_assets.common import quote_identifier

quote = quote_identifier  # the one quoting rule, shared by every layer


@dataclass(frozen=True)
class TableName:
    """A ``schema.name`` table reference."""

    schema: str
    name: str

    @classmethod
    def parse(cls, table: str) -> TableName:
        schema, dot, name = table.partition(".")
        if not dot or not schema or not name or "." in name:
            raise ValueError(f"Table name {table!r} must look like 'schema.name' (e.g. 'moodle.courses').")
        return cls(schema, name)

    @property
    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    @property
    def asset_key(self) -> str:
        """The asset that owns the table: the schema is the asset key prefix."""
        return f"{self.schema}/{self.name}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"
