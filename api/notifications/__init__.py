"""The delivery log of pushes: every notification with its status, attempts and last error
(channel secrets scrubbed), and per-channel counts."""
