-- Live updates and the site plan: alerts and devices announce their changes on
-- PostgreSQL channels (the API's one LISTEN connection fans them out to its streams,
-- ``api.live``), and a building may carry its place on the community's plan.

-- Where the building sits on the site plan, each 0–1 from the plan's left / top edge;
-- NULL: the API lays the buildings out on a grid.
ALTER TABLE buildings ADD COLUMN plan_x real CHECK (plan_x BETWEEN 0 AND 1);
ALTER TABLE buildings ADD COLUMN plan_y real CHECK (plan_y BETWEEN 0 AND 1);

-- ``linli_alert``: a raised alert, and every change of its status, tier, assignee or
-- severity, named by ``change``. Small on purpose (NOTIFY payloads stay under 8 kB): a
-- screen that wants the rest reads the alert.
CREATE FUNCTION linli_notify_alert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        change := 'raised';
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        change := CASE
            WHEN NEW.status = 'acknowledged' AND OLD.status = 'resolved' THEN 'returned'
            WHEN NEW.status = 'open' AND NEW.assignee IS DISTINCT FROM OLD.assignee
                THEN 'dispatched'
            WHEN NEW.status = 'open' THEN 'reopened'
            ELSE NEW.status
        END;
    ELSIF NEW.assignee IS DISTINCT FROM OLD.assignee THEN
        change := 'dispatched';
    ELSIF NEW.tier IS DISTINCT FROM OLD.tier THEN
        change := 'escalated';
    ELSE
        change := 'updated';
    END IF;
    PERFORM pg_notify('linli_alert', json_build_object(
        'id', NEW.id, 'community', NEW.community, 'grid', NEW.grid,
        'building', NEW.building, 'rule', NEW.rule, 'status', NEW.status,
        'severity', NEW.severity, 'tier', NEW.tier, 'assignee', NEW.assignee,
        'change', change)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER alerts_notify_insert AFTER INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION linli_notify_alert();
CREATE TRIGGER alerts_notify_update AFTER UPDATE OF status, tier, assignee, severity ON alerts
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.tier IS DISTINCT FROM NEW.tier
          OR OLD.assignee IS DISTINCT FROM NEW.assignee
          OR OLD.severity IS DISTINCT FROM NEW.severity)
    EXECUTE FUNCTION linli_notify_alert();

-- ``linli_device``: a device seen or provisioned, a change of its state, and its events
-- arriving — at most one note per device per 5 s of event time, so that a busy door
-- does not turn every ingest batch into a note, while "test this device" still sees
-- the first event at once.
CREATE FUNCTION linli_notify_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('linli_device', json_build_object(
        'community', NEW.community, 'building', NEW.building, 'id', NEW.id,
        'kind', NEW.kind, 'state', NEW.state, 'last_event_at', NEW.last_event_at)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER devices_notify_insert AFTER INSERT ON devices
    FOR EACH ROW EXECUTE FUNCTION linli_notify_device();
CREATE TRIGGER devices_notify_update AFTER UPDATE ON devices
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.registered IS DISTINCT FROM NEW.registered
          OR (NEW.last_event_at IS NOT NULL
              AND (OLD.last_event_at IS NULL
                   OR NEW.last_event_at >= OLD.last_event_at + interval '5 seconds')))
    EXECUTE FUNCTION linli_notify_device();
