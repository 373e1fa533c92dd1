"""edge stage of Linli."""
