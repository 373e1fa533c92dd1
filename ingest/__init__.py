"""ingest stage of Linli."""
