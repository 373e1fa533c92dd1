"""rules stage of Linli."""
