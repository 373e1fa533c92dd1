"""zkteco source."""
