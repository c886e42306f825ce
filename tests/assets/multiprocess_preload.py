"""Imported by the multiprocess fork server only: build the jobs once, and import what every step
process would otherwise import again, so every forked step inherits them.

A step process opens the run's instance (Dagster's SQL storage: SQLAlchemy, Alembic, the
SQLite event log) and calls Moodle through httpx, whose transport imports httpcore and anyio
on first use; importing those in each step took about a second of every step's start. The
instance opened here, on an empty folder, is only for its imports: it is disposed before any
step is forked, and no step reads it.
"""

import tempfile

import anyio._backends._asyncio  # noqa: F401
import certifi  # noqa: F401
import httpcore  # noqa: F401
import httpx  # noqa: F401
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from tests.assets.multiprocess import harvest_job

harvest_job()

with tempfile.TemporaryDirectory() as _home:
    DagsterInstance.from_ref(InstanceRef.from_dir(_home)).dispose()
