-- linli: requires timescaledb
-- TimescaleDB only: applied when the extension is available, recorded as skipped otherwise.
-- One transaction: a failure leaves nothing half-done, so the migration can simply run
-- again (the continuous aggregate is created WITH NO DATA, which a transaction allows).
-- tests/timescale/ checks every setting below on a real TimescaleDB build.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- Unique (event_id, occurred_at) from 0001 includes the time column, as a hypertable needs.
SELECT create_hypertable('events', 'occurred_at',
                         chunk_time_interval => interval '1 day',
                         migrate_data => true);

-- event_id in the order: the unique index's columns must be in segmentby or orderby, or
-- TimescaleDB warns and a late duplicate must decompress whole segments to be found.
ALTER TABLE events SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'community, building',
    timescaledb.compress_orderby = 'occurred_at DESC, event_id'
);
SELECT add_compression_policy('events', compress_after => interval '7 days');
SELECT add_retention_policy('events', drop_after => interval '400 days');

-- Same name and columns as 0001's view, now materialized per local (Asia/Shanghai) day.
DROP VIEW daily_passages;
CREATE MATERIALIZED VIEW daily_passages
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT e.community,
       e.building,
       e.device,
       time_bucket(interval '1 day', e.occurred_at, 'Asia/Shanghai') AS day_start,
       e.direction,
       sum(e.count)::bigint AS passages
FROM events e
WHERE e.kind = 'passage'
GROUP BY e.community, e.building, e.device,
         time_bucket(interval '1 day', e.occurred_at, 'Asia/Shanghai'), e.direction
WITH NO DATA;
-- Late events (an edge agent's spool replayed after an outage; the broker keeps ingest's
-- session for 7 days) must still reach the aggregate: the refresh looks back 14 days.
-- Only invalidated days are recomputed, so the wide window costs little.
SELECT add_continuous_aggregate_policy('daily_passages',
                                       start_offset => interval '14 days',
                                       end_offset => interval '1 hour',
                                       schedule_interval => interval '30 minutes');
