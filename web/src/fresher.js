// Reloads (on stream events) and steps on an alert overlap: an answer older than what is
// shown (by the alert's updated_at, which every step moves) must not put back the state
// before a step.

/** Whether `fresh` may replace `shown` (another alert, or at least as new). */
export function newer(shown, fresh) {
  return !shown || shown.id !== fresh.id || Date.parse(fresh.updated_at) >= Date.parse(shown.updated_at);
}
