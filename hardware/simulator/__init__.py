"""Simulated communities and devices: door logs a generic controller would write."""
