"""Figures for the people who run the grids: per community, grid, worker or rule and month,
alerts by rule, times to acknowledge and close, on-time shares, 化解率 and 办结率, false
alarms; as JSON and as CSV for spreadsheets."""
