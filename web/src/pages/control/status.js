// The status of a place on the tree and the site plan, from the places endpoint
// (api/places/models.py). One rule for every place, worst first:
//   critical — an active (open or acknowledged) alert of severity critical or high;
//   alert    — any other active alert;
//   device   — no active alert, but a device reports offline (buildings only: devices
//              belong to buildings);
//   ok       — none of these.
// A grid takes its worst building. A unit counts the alerts about the residents living in it.
// Every status has a colour, an icon and a word, so none is told by colour alone.
import { t } from "../../i18n/index.js";

export const LEVELS = ["critical", "alert", "device", "ok"];
export const ICONS = { critical: "‼", alert: "!", device: "⚙", ok: "✓" };

function fromAlerts(alerts) {
  if (!alerts) return null;
  const severity = alerts.by_severity || {};
  if ((severity.critical || 0) + (severity.high || 0) > 0) return "critical";
  if (alerts.open + alerts.acknowledged > 0) return "alert";
  return null;
}

export function buildingStatus(building) {
  return fromAlerts(building.alerts) || (building.devices?.offline > 0 ? "device" : "ok");
}

export function unitStatus(unit) {
  return fromAlerts(unit.alerts) || "ok";
}

export function worst(statuses) {
  return statuses.reduce((a, b) => (LEVELS.indexOf(b) < LEVELS.indexOf(a) ? b : a), "ok");
}

export function gridStatus(grid) {
  return worst((grid.buildings || []).map(buildingStatus));
}

export const statusText = (level) => t("place_status." + level);

/** Active alerts of a place (0 for roles that may not read them). */
export function activeCount(alerts) {
  return alerts ? alerts.open + alerts.acknowledged : 0;
}
