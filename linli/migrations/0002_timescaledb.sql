-- linli: requires timescaledb
-- linli: no-transaction
-- TimescaleDB only: applied when the extension is available, recorded as skipped otherwise.
CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('events', 'occurred_at',
                         chunk_time_interval => interval '1 day',
                         migrate_data => true);

ALTER TABLE events SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'community, building',
    timescaledb.compress_orderby = 'occurred_at DESC'
);
SELECT add_compression_policy('events', compress_after => interval '7 days');
SELECT add_retention_policy('events', drop_after => interval '400 days');

DROP VIEW daily_passages;
CREATE MATERIALIZED VIEW daily_passages
WITH (timescaledb.continuous) AS
SELECT e.community,
       e.building,
       e.device,
       time_bucket(interval '1 day', e.occurred_at, 'Asia/Shanghai') AS day_start,
       e.direction,
       sum(e.count)::bigint AS passages
FROM events e
WHERE e.kind = 'passage'
GROUP BY e.community, e.building, e.device, time_bucket(interval '1 day', e.occurred_at, 'Asia/Shanghai'), e.direction
WITH NO DATA;
SELECT add_continuous_aggregate_policy('daily_passages',
                                       start_offset => interval '3 days',
                                       end_offset => interval '1 hour',
                                       schedule_interval => interval '30 minutes');
ALTER MATERIALIZED VIEW daily_passages SET (timescaledb.materialized_only = false);
