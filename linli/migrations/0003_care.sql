-- Care-grade alerts: which home a device belongs to, the door a camera watches,
-- registered absences (外出报备), each watched resident's learned baseline, and the
-- per-resident signal state the silence rule reads (kept by ingest, like presence).

-- An apartment's own door contact or an in-home sensor belongs to one household; a camera
-- that counts people through a doorway names the door device it watches (tailgating).
ALTER TABLE devices ADD COLUMN household text;
ALTER TABLE devices ADD COLUMN door text;
-- When ``state`` last changed (status_at moves with every heartbeat): "offline for 5 min".
ALTER TABLE devices ADD COLUMN state_since timestamptz;

-- "Away until …": no silence alert meanwhile; the watch resumes at ends_at.
CREATE TABLE absences (
    id            bigserial PRIMARY KEY,
    community     text NOT NULL REFERENCES communities (id),
    resident      text NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    reason        text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    cancelled_at  timestamptz,
    cancelled_by  text,
    CHECK (ends_at > starts_at),
    FOREIGN KEY (community, resident) REFERENCES residents (community, id)
);
CREATE INDEX absences_resident ON absences (community, resident, ends_at DESC);

-- One row per resident whose home produced signs of life; every column only moves forward.
-- ``last_door_*``: the last passage (any device the resident is known at, or their home's
-- own door); ``last_activity_at``: the last in-home sensor event of their home.
CREATE TABLE resident_signals (
    community            text NOT NULL,
    resident             text NOT NULL,
    last_door_at         timestamptz,
    last_door_direction  text,
    last_door_building   text,
    last_door_device     text,
    last_activity_at     timestamptz,
    last_activity_building text,
    last_activity_device text,
    first_signal_at      timestamptz NOT NULL,
    PRIMARY KEY (community, resident)
);

-- What the silence rule learned from a resident's own history (rules.baseline).
CREATE TABLE resident_baselines (
    community     text NOT NULL,
    resident      text NOT NULL,
    computed_at   timestamptz NOT NULL,
    history_days  real NOT NULL,
    model         jsonb NOT NULL,
    PRIMARY KEY (community, resident)
);

-- A push withdrawn before it was sent: its alert resolved itself in the meantime.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn'));
