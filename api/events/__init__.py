"""Events: the stored entry, exit and door events, filtered and paginated."""
