"""Health: is the database answering, is the broker accepting connections."""
