"""The installer's console: adopt a device from a profile, the agent's configuration and
MQTT credentials, a camera's frame and counting line, and one device's events live."""
