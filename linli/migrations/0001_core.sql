-- Core schema: places and people, devices, events, presence, dead letters, alerts and
-- notifications. Standard PostgreSQL only; TimescaleDB extras live in 0002.

CREATE TABLE communities (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    timezone        text NOT NULL DEFAULT 'Asia/Shanghai',
    silent_check_at time,              -- NULL: the rules service's default
    silent_max_hours real,             -- NULL: the rules service's default
    locale          text NOT NULL DEFAULT 'zh-CN',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE grids (
    community  text NOT NULL REFERENCES communities (id),
    id         text NOT NULL,
    name       text NOT NULL,
    PRIMARY KEY (community, id)
);

CREATE TABLE buildings (
    community  text NOT NULL REFERENCES communities (id),
    id         text NOT NULL,
    name       text NOT NULL,
    grid       text,
    PRIMARY KEY (community, id),
    FOREIGN KEY (community, grid) REFERENCES grids (community, id)
);

CREATE TABLE units (
    community  text NOT NULL,
    building   text NOT NULL,
    id         text NOT NULL,
    name       text NOT NULL,
    PRIMARY KEY (community, building, id),
    FOREIGN KEY (community, building) REFERENCES buildings (community, id)
);

CREATE TABLE households (
    community  text NOT NULL,
    id         text NOT NULL,
    building   text NOT NULL,
    unit       text,
    room       text,
    PRIMARY KEY (community, id),
    FOREIGN KEY (community, building) REFERENCES buildings (community, id)
);

CREATE TABLE residents (
    community          text NOT NULL REFERENCES communities (id),
    id                 text NOT NULL,          -- the id door devices know the person by
    name               text NOT NULL,
    household          text,
    phone              text,
    is_elderly         boolean NOT NULL DEFAULT false,
    lives_alone        boolean NOT NULL DEFAULT false,
    care_level         smallint NOT NULL DEFAULT 0,
    emergency_contacts jsonb NOT NULL DEFAULT '[]',
    active             boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community, id),
    FOREIGN KEY (community, household) REFERENCES households (community, id)
);
CREATE INDEX residents_watch ON residents (community) WHERE is_elderly AND lives_alone AND active;

CREATE TABLE grid_workers (
    community    text NOT NULL REFERENCES communities (id),
    id           text NOT NULL,
    name         text NOT NULL,
    phone        text,
    role         text NOT NULL DEFAULT 'grid_worker',  -- grid_worker | control_room | installer
    locale       text,                                  -- NULL: the community's
    notify_urls  text[] NOT NULL DEFAULT '{}',          -- Apprise URLs; secrets, never logged
    active       boolean NOT NULL DEFAULT true,
    PRIMARY KEY (community, id)
);

CREATE TABLE grid_worker_grids (
    community  text NOT NULL,
    worker     text NOT NULL,
    grid       text NOT NULL,
    PRIMARY KEY (community, worker, grid),
    FOREIGN KEY (community, worker) REFERENCES grid_workers (community, id),
    FOREIGN KEY (community, grid) REFERENCES grids (community, id)
);

CREATE TABLE devices (
    community      text NOT NULL,
    building       text NOT NULL,
    id             text NOT NULL,
    kind           text NOT NULL DEFAULT 'door',     -- door | camera | sensor | agent
    name           text,
    registered     boolean NOT NULL DEFAULT false,   -- false: seen on the wire, not provisioned
    first_seen_at  timestamptz,
    last_event_at  timestamptz,
    state          text,                             -- online | offline | ... from the status topic
    status         jsonb,
    status_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community, building, id)
);

CREATE TABLE events (
    event_id     uuid NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    community    text NOT NULL,
    building     text NOT NULL,
    device       text NOT NULL,
    kind         text NOT NULL,
    direction    text,
    person_id    text,
    credential   text,
    count        integer NOT NULL DEFAULT 1,
    confidence   real NOT NULL DEFAULT 1,
    source       text NOT NULL,
    attrs        jsonb NOT NULL DEFAULT '{}',
    UNIQUE (event_id, occurred_at)
);
CREATE INDEX events_occurred_brin ON events USING brin (occurred_at);
CREATE INDEX events_community_time ON events (community, occurred_at DESC);
CREATE INDEX events_person_time ON events (community, person_id, occurred_at DESC)
    WHERE person_id IS NOT NULL;

CREATE TABLE presence (
    community     text NOT NULL,
    resident      text NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    building      text NOT NULL,
    device        text NOT NULL,
    direction     text,
    event_id      uuid NOT NULL,
    PRIMARY KEY (community, resident)
);

CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    reason       text NOT NULL
);
CREATE INDEX dead_letters_time ON dead_letters (received_at DESC);

CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    community        text NOT NULL REFERENCES communities (id),
    rule             text NOT NULL,
    subject          text NOT NULL,      -- what the alert is about, e.g. a resident's id
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'acknowledged', 'resolved', 'archived')),
    severity         text NOT NULL DEFAULT 'warning',
    tier             smallint NOT NULL DEFAULT 1,
    grid             text,
    building         text,
    title            text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}',
    raised_at        timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    fired_count      integer NOT NULL DEFAULT 1,
    escalate_at      timestamptz,        -- the escalation timer; NULL when none is running
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution       text
);
-- One open alert per (rule, subject): a rule that fires again updates it.
CREATE UNIQUE INDEX alerts_one_open ON alerts (community, rule, subject)
    WHERE status IN ('open', 'acknowledged');
CREATE INDEX alerts_status ON alerts (community, status, raised_at DESC);
CREATE INDEX alerts_escalation ON alerts (escalate_at) WHERE escalate_at IS NOT NULL;

CREATE TABLE alert_timeline (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id),
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,          -- 'system', 'rules', or a person's id
    action    text NOT NULL,          -- raised | dispatched | notified | acknowledged | escalated | resolved | note
    note      text,
    data      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_timeline_alert ON alert_timeline (alert_id, at);

CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    alert_id         bigint NOT NULL REFERENCES alerts (id),
    community        text NOT NULL,
    worker           text NOT NULL,
    url_index        integer NOT NULL,  -- which of the worker's notify_urls
    channel          text NOT NULL,     -- the URL's scheme and host, secrets removed
    title            text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    last_error       text,
    UNIQUE (alert_id, worker, url_index, title)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';

CREATE TABLE notification_attempts (
    id               bigserial PRIMARY KEY,
    notification_id  bigint NOT NULL REFERENCES notifications (id),
    at               timestamptz NOT NULL DEFAULT now(),
    ok               boolean NOT NULL,
    duration_ms      integer NOT NULL,
    error            text
);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id, at);

-- Daily passages per device in each community's local day. On TimescaleDB, migration 0002
-- replaces this view with a continuous aggregate of the same name and columns.
CREATE VIEW daily_passages AS
SELECT e.community,
       e.building,
       e.device,
       date_bin('1 day', e.occurred_at AT TIME ZONE 'Asia/Shanghai', timestamp '2000-01-01')
           AT TIME ZONE 'Asia/Shanghai' AS day_start,   -- local midnight, as timestamptz
       e.direction,
       sum(e.count)::bigint AS passages
FROM events e
WHERE e.kind = 'passage'
GROUP BY 1, 2, 3, 4, 5;
