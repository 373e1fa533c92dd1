"""SQL of the figures domain: one statement per grouping (community, grid, worker, rule).

Every statement reads the alerts raised in one calendar month of each community's own
time zone, limited to what the principal may see (``api.alerts.queries.ALERT_SCOPE``),
and returns per group the counts and the durations' median and p90 (``percentile_cont``)
that ``api.figures.service`` turns into shares. The community, grid and worker groupings
also return one row per (group, rule) through ``GROUPING SETS``; ``rule`` is NULL on the
group's own row. The definitions of every figure are in ``api.figures.models``.

Parameters: ``scope_*`` (``Principal.scope``), ``community`` (NULL: every community one
may see), ``month`` (the month's first day; NULL: the current month of each community)
and ``escalate_after`` (an interval: the first escalation's delay).
"""

from __future__ import annotations

from api.alerts.queries import ALERT_SCOPE

# The month is compared in the community's time zone; the bounds on raised_at before it
# (a day of margin covers every time zone) let the planner use an index on raised_at.
_MONTH_ALERTS = f"""
SELECT a.community, {{key}} AS key, a.rule,
       to_char(date_trunc('month', a.raised_at AT TIME ZONE c.timezone), 'YYYY-MM') AS month,
       extract(epoch FROM a.acknowledged_at - a.raised_at) AS ack_s,
       CASE WHEN a.status IN ('resolved', 'archived')
            THEN extract(epoch FROM a.resolved_at - a.raised_at) END AS close_s,
       (a.acknowledged_at IS NOT NULL
        OR coalesce(a.resolved_at, now()) > a.raised_at + %(escalate_after)s::interval)
           AS ack_due,
       a.acknowledged_at < a.raised_at + %(escalate_after)s::interval AS ack_on_time,
       CASE WHEN a.status IN ('resolved', 'archived') THEN a.outcome END AS outcome,
       (a.feedback_due_at IS NOT NULL
        AND ((a.status IN ('resolved', 'archived') AND a.outcome IS NOT NULL)
             OR (a.status IN ('open', 'acknowledged') AND now() > a.feedback_due_at)))
           AS feedback_due,
       (a.status IN ('resolved', 'archived') AND a.outcome IS NOT NULL
        AND a.resolved_at < a.feedback_due_at) AS feedback_on_time,
       (a.status IN ('resolved', 'archived')
        AND (a.outcome IS NOT NULL OR a.resolved_by = 'system')) AS settled,
       a.status = 'archived' AS archived
  FROM alerts a
  JOIN communities c ON c.id = a.community
 WHERE {ALERT_SCOPE}
   AND (%(community)s::text IS NULL OR a.community = %(community)s)
   AND a.raised_at >= coalesce((%(month)s::date - 1)::timestamp AT TIME ZONE 'UTC',
                               now() - interval '33 days')
   AND a.raised_at < coalesce((%(month)s::date + interval '1 month 1 day') AT TIME ZONE 'UTC',
                              'infinity')
   AND date_trunc('month', a.raised_at AT TIME ZONE c.timezone)
       = coalesce(%(month)s::date::timestamp, date_trunc('month', now() AT TIME ZONE c.timezone))
   {{key_scope}}
"""

_FIGURES = """
       min(m.month) AS month,
       count(*) AS raised,
       count(m.ack_s) AS acknowledged,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.ack_s) AS ack_median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY m.ack_s) AS ack_p90_s,
       count(m.close_s) AS closed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.close_s) AS close_median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY m.close_s) AS close_p90_s,
       count(*) FILTER (WHERE m.ack_due) AS ack_due,
       count(*) FILTER (WHERE m.ack_on_time) AS ack_on_time,
       count(*) FILTER (WHERE m.feedback_due) AS feedback_due,
       count(*) FILTER (WHERE m.feedback_on_time) AS feedback_on_time,
       count(*) FILTER (WHERE m.settled) AS settled,
       count(*) FILTER (WHERE m.archived) AS archived,
       count(m.outcome) AS with_outcome,
       count(*) FILTER (WHERE m.outcome = 'false_alarm') AS false_alarms
"""


def _grouped(key: str, name: str, key_scope: str = "") -> str:
    """The figures of one grouping: the group's row and one row per rule within it."""
    month_alerts = _MONTH_ALERTS.format(key=key, key_scope=key_scope)
    return f"""
WITH m AS ({month_alerts}),
g AS (
SELECT m.community, m.key,
       CASE WHEN GROUPING(m.rule) = 0 THEN m.rule END AS rule, {_FIGURES}
  FROM m
 GROUP BY GROUPING SETS ((m.community, m.key), (m.community, m.key, m.rule))
)
SELECT g.*, ({name}) AS name
  FROM g
 ORDER BY g.community, g.key NULLS LAST, g.rule NULLS FIRST
"""


FIGURES_BY_COMMUNITY = _grouped(
    "a.community", "SELECT c.name FROM communities c WHERE c.id = g.community")

FIGURES_BY_GRID = _grouped(
    "a.grid", "SELECT r.name FROM grids r WHERE r.community = g.community AND r.id = g.key",
    # A grid worker sees the rows of their own grids only.
    "AND (%(scope_grids)s::text[] IS NULL OR a.grid = ANY(%(scope_grids)s))")

FIGURES_BY_WORKER = _grouped(
    "a.assignee",
    "SELECT w.name FROM grid_workers w WHERE w.community = g.community AND w.id = g.key",
    # A grid worker sees their own row only.
    "AND (%(scope_worker)s::text IS NULL OR a.assignee = %(scope_worker)s)")

FIGURES_BY_RULE = f"""
WITH m AS ({_MONTH_ALERTS.format(key="a.rule", key_scope="")})
SELECT m.community, m.key, m.key AS rule, {_FIGURES}, NULL::text AS name
  FROM m
 GROUP BY m.community, m.key
 ORDER BY m.community, m.key
"""
