"""Alerts: lists, one alert with its timeline and notifications, acknowledge and resolve."""
