"""Communities: the list, and the control room's summary of one community."""
