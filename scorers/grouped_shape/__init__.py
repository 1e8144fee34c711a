"""What runs the grouped shape (scorers.cross_sample.steps.GroupedScorer) for every kind: hash
partitions and shared rows, and the adapter for scorers of the earlier finish_block protocol."""
