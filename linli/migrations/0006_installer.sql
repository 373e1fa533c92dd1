-- The installer's console: the devices adopted from a profile, a frame of each camera to
-- place its counting line on, and the agents' MQTT credentials (their hash only).

-- One device of a building as the installer set it up: its profile and its own source
-- settings (the keys of a devices file entry besides id, profile, name, kind). The
-- settings may hold a terminal's password: the API never returns them, only flags.
CREATE TABLE installed_devices (
    community   text NOT NULL,
    building    text NOT NULL,
    device      text NOT NULL,
    profile     text NOT NULL,
    name        text,
    kind        text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community, building, device),
    FOREIGN KEY (community, building) REFERENCES buildings (community, id)
);

-- A still of a camera's view, uploaded by the installer: the counting line and the person
-- size are drawn over it. One per camera, replaced by the next upload.
CREATE TABLE device_frames (
    community     text NOT NULL,
    building      text NOT NULL,
    device        text NOT NULL,
    content_type  text NOT NULL,
    data          bytea NOT NULL,
    uploaded_by   text NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community, building, device),
    FOREIGN KEY (community, building) REFERENCES buildings (community, id)
);

-- The MQTT user last issued to a building's agent: the broker's $7$ hash (never the
-- password, which is shown once), who issued it and when.
CREATE TABLE agent_credentials (
    community      text NOT NULL,
    building       text NOT NULL,
    username       text NOT NULL,
    password_hash  text NOT NULL,
    issued_by      text NOT NULL,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community, building),
    FOREIGN KEY (community, building) REFERENCES buildings (community, id)
);
