"""Residents: one resident's timeline (who, where last seen, recent events, alerts)."""
