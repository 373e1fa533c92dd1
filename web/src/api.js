// Calls to /api/v1 with the session cookie; unsafe methods carry the CSRF token (from the
// login answer, or the readable linli_csrf cookie after a reload).
export const API = "/api/v1";
let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message || code || String(status));
    this.status = status;
    this.code = code;
    this.fields = fields || [];
  }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

export function setCsrf(token) { csrf = token; }

export async function request(method, path, { json, body, type, query } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf || cookie("linli_csrf") || "";
  let payload = body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(json); }
  if (type) headers["Content-Type"] = type;
  let url = path.startsWith("/") ? path : `${API}/${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      for (const one of [].concat(value)) if (one !== undefined && one !== null) params.append(key, one);
    }
    url += `?${params}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  } catch (exc) {
    throw new ApiError(0, "network", String(exc));
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, data?.error?.code, data?.error?.message, data?.error?.fields);
  }
  return data;
}

/** A GET whose answer is text (a YAML file), not JSON. */
export async function getText(path) {
  const response = await fetch(`${API}/${path}`, { credentials: "same-origin" });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, data?.error?.code, data?.error?.message, data?.error?.fields);
  }
  return response.text();
}

/** Offer `text` as a file download named `name` (no server round trip). */
export function saveText(name, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, json) => request("POST", path, { json: json ?? {} });
