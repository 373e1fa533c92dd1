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

/** The instant a local day ("YYYY-MM-DD", plus `addDays`) begins in the community's zone, ISO. */
export function dayStart(date, community, addDays = 0) {
  const [y, m, d] = date.split("-").map(Number);
  const wanted = Date.UTC(y, m - 1, d + addDays);
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timeZone(community), hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  let guess = wanted;
  // Twice: the zone's offset at the first guess may differ from the one at the answer.
  for (let i = 0; i < 2; i++) {
    const p = Object.fromEntries(format.formatToParts(new Date(guess)).map((x) => [x.type, x.value]));
    guess += wanted - Date.UTC(+p.year, p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  }
  return new Date(guess).toISOString();
}
