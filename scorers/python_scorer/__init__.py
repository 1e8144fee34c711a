"""The per-sample Python scorer (`type: python`): compute_score(sample) -> that sample's scores."""
