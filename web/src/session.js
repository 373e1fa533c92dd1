// Who is logged in and the community's clock, shared by every page.
import { reactive } from "vue";
import { get, post, setCsrf, ApiError } from "./api.js";

export const session = reactive({ me: null, communities: [], loaded: false });

export async function loadSession() {
  if (session.loaded) return session.me;
  try {
    session.me = await get("auth/me");
    session.communities = await get("communities").catch(() => []);
  } catch (exc) {
    if (!(exc instanceof ApiError) || exc.status !== 401) throw exc;
    session.me = null;
  }
  session.loaded = true;
  return session.me;
}

export async function logIn(username, password) {
  const made = await post("auth/login", { username, password });
  setCsrf(made.csrf_token);
  session.loaded = false;
  return loadSession();
}

export async function logOut() {
  await post("auth/logout").catch(() => null);
  setCsrf(null);
  Object.assign(session, { me: null, communities: [], loaded: false });
}

export function can(permission) {
  return Boolean(session.me?.permissions?.includes(permission));
}

/** The community the pages show: the user's own, else the first they may read. */
export function currentCommunity() {
  return session.me?.community || session.communities[0]?.id || null;
}

export function timeZone(community) {
  const id = community || currentCommunity();
  return session.communities.find((c) => c.id === id)?.timezone || "Asia/Shanghai";
}

/** Where a role starts. */
export function homeOf(me) {
  if (me?.role === "grid_worker") return "/m/";
  if (me?.role === "installer") return "/installer/";
  return "/";
}
