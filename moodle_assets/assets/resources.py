"""Dagster resources: the Moodle site and the DuckDB warehouse.

Both are small ConfigurableResources so the UI shows their settings and the token comes
from ``EnvVar("MOODLE_TOKEN")`` at run time — never from code, config files or logs.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from moodle_assets.moodle import ClientSettings
from moodle_assets.warehouse import Warehouse


class MoodleResource(ConfigurableResource):
    """A Moodle site's REST web services, reached with one token."""

    url: str = Field(description="Site root, e.g. https://moodle.example.edu (MOODLE_URL).")
    token: str = Field(description="Web-service token (MOODLE_TOKEN). Never logged or stored.")
    timeout_seconds: float = Field(default=60.0, description="Read timeout of one call.")
    max_concurrency: int = Field(
        default=4,
        description="Calls in flight at once from a run (its steps running side by side share them). A PHP site serves "
        "a few at a time; 4-8 suits a small site.",
    )
    max_retries: int = Field(default=4, description="Retries of transient failures (timeouts, 429, 5xx).")
    backoff_base_seconds: float = Field(default=0.5, description="First retry waits about this long, then doubles.")
    backoff_max_seconds: float = Field(default=30.0, description="Longest wait between two retries.")
    verify_tls: bool = Field(default=True, description="Verify the site's TLS certificate.")
    ca_bundle: str | None = Field(
        default=None, description="Path to a private CA bundle, instead of switching verification off."
    )
    max_failed_share: float = Field(
        default=0.1,
        description="Share of fan-out items (courses, users...) allowed to fail before an asset's check fails.",
    )

    def client_settings(
        self, url: str | None = None, token: str | None = None, max_concurrency: int | None = None
    ) -> ClientSettings:
        """This resource's settings; with a site of the sites file, its URL, token and limit instead."""
        return ClientSettings(
            url=self.url if url is None else url,
            token=self.token if token is None else token,
            timeout=self.timeout_seconds,
            max_concurrency=max_concurrency or self.max_concurrency,
            max_retries=self.max_retries,
            backoff_base=self.backoff_base_seconds,
            backoff_max=self.backoff_max_seconds,
            verify=self.ca_bundle or self.verify_tls,
        )


class WarehouseResource(ConfigurableResource):
    """The DuckDB file (or MotherDuck ``md:`` database) the assets land in."""

    path: str | None = Field(
        default=None,
        description="DuckDB path; default MOODLE_DUCKDB_PATH or data/warehouse.duckdb. A relative path is taken "
        "from the project folder (MOODLE_PROJECT_DIR, else the folder of this project's pyproject.toml).",
    )
    lock_timeout_seconds: float = Field(
        default=120.0, description="How long a write waits for another process to release the file."
    )

    def get(self) -> Warehouse:
        return Warehouse(self.path, lock_timeout=self.lock_timeout_seconds)
