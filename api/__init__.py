"""api stage of Linli."""
