"""Places: a community's grids → buildings → units with their status (alerts, devices,
watched residents) and plan positions; today's watched residents; daily trends."""
