"""Incremental runs: an earlier run's judgments reused where a request is the same."""
