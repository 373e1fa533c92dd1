// Routes of the three faces; each face is its own chunk (Element Plus for the desktop, Vant
// for the phone). Anyone not logged in goes to /login first and comes back after.
import { createRouter, createWebHistory } from "vue-router";
import { homeOf, loadSession, session } from "./session.js";

const PHONE_MAX_WIDTH = 600;

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/login", component: () => import("./pages/LoginPage.vue"), meta: { open: true } },
    { path: "/", component: () => import("./pages/control/ControlRoom.vue") },
    { path: "/history", component: () => import("./pages/control/HistoryPage.vue") },
    { path: "/m/", component: () => import("./pages/phone/MyAlerts.vue") },
    { path: "/m/alerts/:id(\\d+)", component: () => import("./pages/phone/PhoneAlert.vue"), props: true },
    { path: "/m/residents", component: () => import("./pages/phone/MyResidents.vue") },
    { path: "/m/residents/:id", component: () => import("./pages/phone/PhoneResident.vue"), props: true },
    { path: "/installer/", component: () => import("./pages/installer/DeviceBoard.vue") },
    { path: "/m", redirect: "/m/" },
    { path: "/installer", redirect: "/installer/" },
    { path: "/:rest(.*)*", redirect: "/" },
  ],
});

router.beforeEach(async (to) => {
  const me = await loadSession().catch(() => null);
  if (to.meta.open) return true;
  if (!me) return { path: "/login", query: { next: to.fullPath } };
  if (to.path === "/history" && (me.role === "grid_worker" || me.role === "installer")) return homeOf(me);
  if (to.path.startsWith("/m/residents") && !me.permissions?.includes("residents:read")) return homeOf(me);
  if (to.path === "/") {
    // A push link lands on /?alert=ID: a grid worker or a phone gets the phone's page.
    const alert = to.query.alert;
    const phone = window.innerWidth <= PHONE_MAX_WIDTH || me.role === "grid_worker";
    if (alert && /^\d+$/.test(String(alert)) && phone) return `/m/alerts/${alert}`;
    if (me.role === "grid_worker" || me.role === "installer") return homeOf(me);
  }
  return true;
});

export { session };
