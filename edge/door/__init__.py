"""Door-controller sources: follow a controller's log and turn its records into events."""
