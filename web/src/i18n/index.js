// Texts in zh-CN (default) and English; the choice is kept in localStorage.
import { computed, ref } from "vue";
import zhCN from "./zh-CN.js";
import en from "./en.js";

export const MESSAGES = { "zh-CN": zhCN, en };
const saved = typeof localStorage !== "undefined" ? localStorage.getItem("linli.locale") : null;
export const locale = ref(saved in MESSAGES ? saved : "zh-CN");

export function setLocale(value) {
  locale.value = value;
  localStorage.setItem("linli.locale", value);
  document.documentElement.lang = value;
}

/** The text of `key`, with `{name}` placeholders filled from `values`. */
export function t(key, values = {}) {
  // A value the server adds later (a new step, state) shows as itself, not as a key.
  const text = MESSAGES[locale.value][key] ?? MESSAGES["zh-CN"][key] ?? key.slice(key.indexOf(".") + 1);
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export const otherLocale = computed(() => (locale.value === "zh-CN" ? "en" : "zh-CN"));
