"""TimescaleDB conformance suite: migrations, policies and queries on TimescaleDB."""
