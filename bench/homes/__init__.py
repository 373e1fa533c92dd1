"""Homes for the silence benchmark: real ones converted from public data sets, and a
synthetic community; each a ``Dataset`` (directory, contract events, truth)."""
