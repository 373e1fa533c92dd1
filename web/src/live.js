// The live feed: GET /api/v1/stream (Server-Sent Events) with `alert`, `device` and `health`
// events. While the stream is down the page says so ("实时连接中断") and polls instead:
// `poll` every POLL_MS, and /health for the database's state.
import { onBeforeUnmount, onMounted, reactive } from "vue";

const POLL_MS = 5000;

export function useLiveFeed({ onAlert, onDevice, poll } = {}) {
  const live = reactive({ connected: false, databaseDown: false, broker: null, at: null });
  let source = null;
  let timer = null;

  function handle(kind, callback) {
    source.addEventListener(kind, (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch { return; }
      callback?.(data);
    });
  }

  async function fallback() {
    if (live.connected) return;
    try {
      const response = await fetch("/health", { headers: { Accept: "application/json" } });
      const health = await response.json();
      live.databaseDown = health.database !== "ok";
    } catch {
      live.databaseDown = true;
    }
    if (!live.databaseDown) await poll?.();
  }

  onMounted(() => {
    source = new EventSource("/api/v1/stream");
    source.onopen = () => { live.connected = true; };
    source.onerror = () => { live.connected = false; };
    handle("alert", onAlert);
    handle("device", onDevice);
    handle("health", (health) => {
      live.connected = true;
      live.databaseDown = health.database === "down";
      live.broker = health.broker;
      live.at = health.at;
    });
    timer = setInterval(fallback, POLL_MS);
  });
  onBeforeUnmount(() => {
    source?.close();
    clearInterval(timer);
  });
  return live;
}

let audio = null;
/** A short two-tone beep (WebAudio); browsers allow it once the page has had a click or key. */
export function beep() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    [880, 660].forEach((frequency, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = frequency;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      const start = audio.currentTime + i * 0.18;
      osc.start(start);
      osc.stop(start + 0.15);
    });
  } catch {
    // No sound device or no user gesture yet: the highlight and the announcement remain.
  }
}
