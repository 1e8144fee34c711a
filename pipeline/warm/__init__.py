"""Warm judges: engines kept loaded on a cluster as detached named actors (`rayscore judges
up`), which a run whose judge has the same fingerprint uses instead of starting its own."""
