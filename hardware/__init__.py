"""hardware stage of Linli."""
