-- People and access: accounts with roles scoped to a place, sessions and API tokens, the
-- audit log, and the rest of an alert's closed loop (dispatch to a named worker, on-site
-- feedback with a fixed outcome and photos, review, archive, links in pushes).

-- A person who logs in. ``community`` is NULL only for an admin or auditor of every
-- community. A grid worker's grids come from ``grid_worker_grids`` through ``worker``; a
-- control-room operator may name their ``grid_workers`` row too (so pushes reach them).
-- An installer's ``buildings`` limit them within the community (empty: all of it).
CREATE TABLE users (
    id                    bigserial PRIMARY KEY,
    username              text NOT NULL,
    display_name          text NOT NULL,
    role                  text NOT NULL
                          CHECK (role IN ('admin', 'control_room', 'grid_worker', 'installer',
                                          'auditor')),
    community             text REFERENCES communities (id),
    worker                text,
    buildings             text[] NOT NULL DEFAULT '{}',
    password_hash         text,              -- Argon2id; NULL: no password login
    must_change_password  boolean NOT NULL DEFAULT false,
    disabled_at           timestamptz,
    last_login_at         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (role IN ('admin', 'auditor') OR community IS NOT NULL),
    CHECK (role <> 'grid_worker' OR worker IS NOT NULL),
    FOREIGN KEY (community, worker) REFERENCES grid_workers (community, id)
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE UNIQUE INDEX users_worker ON users (community, worker) WHERE worker IS NOT NULL;

-- A browser session. Only hashes of the cookie's token and of its CSRF token are kept.
CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id),
    csrf_hash     bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    ip            text,
    user_agent    text
);
CREATE INDEX sessions_user ON sessions (user_id);

-- A token for an integration: acts as its user, at most with ``scope``.
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id),
    name          text NOT NULL,
    token_hash    bytea NOT NULL UNIQUE,
    prefix        text NOT NULL,            -- the token's first characters, to recognise it
    scope         text NOT NULL CHECK (scope IN ('read', 'write')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Who read or changed what: logins, reads of personal data, every alert step.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    bigint,
    username   text,
    role       text,
    community  text,
    action     text NOT NULL,
    target     text,                 -- e.g. 'resident:juxin/r-001', 'alert:12', 'user:7'
    via        text,                 -- session | token | link | cli | system
    ip         text,
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_time ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_user ON audit_log (user_id, at DESC);
-- Login throttling counts recent failures per address and per name.
CREATE INDEX audit_log_failures_ip ON audit_log (ip, at) WHERE action = 'login_failed';
CREATE INDEX audit_log_failures_name ON audit_log (lower(username), at)
    WHERE action = 'login_failed';

-- The closed loop: dispatch to a named worker (派单 / 转办), on-site feedback (核查反馈)
-- with an outcome from a fixed list, review (考核评价), archive (归档).
ALTER TABLE alerts ADD COLUMN assignee text;             -- grid_workers.id
ALTER TABLE alerts ADD COLUMN assigned_at timestamptz;
ALTER TABLE alerts ADD COLUMN feedback_due_at timestamptz;
ALTER TABLE alerts ADD COLUMN feedback_reminded_at timestamptz;
ALTER TABLE alerts ADD COLUMN outcome text
    CHECK (outcome IN ('safe', 'hospital', 'away_unreported', 'device_fault', 'false_alarm',
                       'other'));
-- A visit an authenticated worker confirmed: a sign of life for the care rules.
ALTER TABLE alerts ADD COLUMN visited_at timestamptz;
ALTER TABLE alerts ADD COLUMN review text CHECK (review IN ('accepted', 'returned'));
ALTER TABLE alerts ADD COLUMN reviewed_at timestamptz;
ALTER TABLE alerts ADD COLUMN reviewed_by text;
ALTER TABLE alerts ADD COLUMN archived_at timestamptz;
ALTER TABLE alerts ADD COLUMN archived_by text;
CREATE INDEX alerts_feedback_due ON alerts (feedback_due_at)
    WHERE feedback_due_at IS NOT NULL AND feedback_reminded_at IS NULL;
CREATE INDEX alerts_assignee ON alerts (community, assignee, raised_at DESC)
    WHERE assignee IS NOT NULL;

-- Until now a person closing an alert was taken to have seen the resident.
UPDATE alerts SET visited_at = resolved_at
 WHERE status IN ('resolved', 'archived') AND resolved_by <> 'system';

-- Photos filed with on-site feedback: private, served only to those who may see the alert.
CREATE TABLE alert_photos (
    id            bigserial PRIMARY KEY,
    alert_id      bigint NOT NULL REFERENCES alerts (id),
    uploaded_by   text NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    content_type  text NOT NULL,
    sha256        bytea NOT NULL,
    data          bytea NOT NULL,
    UNIQUE (alert_id, sha256)
);

-- The link a push carries to its alert's page: short-lived, for one worker; opening it
-- still asks to log in.
CREATE TABLE alert_links (
    token         text PRIMARY KEY,
    alert_id      bigint NOT NULL REFERENCES alerts (id),
    community     text NOT NULL,
    worker        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    opened_at     timestamptz,
    UNIQUE (alert_id, worker)
);

-- (figures) The delivery log is read newest first; the figures read one month of alerts.
CREATE INDEX notifications_time ON notifications (created_at DESC, id DESC);
CREATE INDEX alerts_raised ON alerts (raised_at);
