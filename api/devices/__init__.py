"""Devices: door controllers, cameras and agents, with status and unknown-device flag."""
