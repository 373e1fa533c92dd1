// How the phone shows a watched resident's state: who needs a visit first, and the words
// for the last sign of life. Shared by the residents list and the resident page.
import { t } from "../../i18n/index.js";
import { formatTime } from "../../time.js";

// Silent first (an open silence alert), then unknown (no sign yet), out, away, home.
export const STATE_ORDER = ["silent", "unknown", "out", "away", "home"];

export function byUrgency(a, b) {
  const rank = STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state);
  if (rank) return rank;
  // Within a state, the longest in it first; unknown times last.
  const since = (r) => (r.since ? Date.parse(r.since) : Infinity);
  return since(a) - since(b) || a.name.localeCompare(b.name, "zh-CN");
}

export function placeOf(r) {
  return [r.building_name || r.building, r.unit_name || r.unit, r.room].filter(Boolean).join(" ");
}

/** "自 12-06 08:10" / "报备至 …" — what the state's time means for this state. */
export function sinceLine(r, community) {
  if (r.state === "away" && r.away_until) return t("phone.away_until", { time: formatTime(r.away_until, community) });
  return r.since ? t("phone.since", { time: formatTime(r.since, community) }) : "";
}

export function signLine(r, community) {
  if (!r.last_sign_at) return t("phone.no_sign");
  return t("phone.last_sign", { sign: t("sign." + r.last_sign), time: formatTime(r.last_sign_at, community) });
}
