"""Benchmarks of moodle-assets against a model of a real Moodle site (see docs/performance.md)."""
