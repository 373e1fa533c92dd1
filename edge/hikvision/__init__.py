"""hikvision source."""
