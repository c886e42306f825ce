"""Imported by the multiprocess fork server only: build the jobs once, so every forked step
inherits them instead of building the whole asset graph again."""

from tests.assets.multiprocess import harvest_job

harvest_job()
