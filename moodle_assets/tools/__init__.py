"""Tools for people configuring endpoints: sample one call, suggest data paths, preflight a site.

Nothing here writes to DuckDB; the tools read Moodle (and, for lookups, the warehouse) only.
"""
