// Times in the community's time zone, in the chosen language.
import { locale } from "./i18n/index.js";
import { timeZone } from "./session.js";

export function formatTime(value, community) {
  if (!value) return "—";
  return new Intl.DateTimeFormat(locale.value, {
    timeZone: timeZone(community), year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(value));
}
