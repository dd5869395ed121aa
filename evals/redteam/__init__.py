"""The red-team suite: hostile strands models and poisoned logs against the real workflow."""
