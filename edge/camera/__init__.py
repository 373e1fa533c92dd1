"""camera source."""
