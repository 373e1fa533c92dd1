"""dahua source."""
