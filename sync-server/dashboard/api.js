// The dashboard's client of the FieldKit JSON API: the session (a bearer token kept in
// sessionStorage, so it ends with the tab) and typed errors from the server's error bodies.

const SESSION_KEY = "fieldkit.dashboard.session";

/** A failed call: the HTTP status, the server's stable error code and its message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** The stored session `{token, user, expires_at_ms}`, or null. */
export function session() {
  const text = sessionStorage.getItem(SESSION_KEY);
  if (!text) return null;
  try {
    const s = JSON.parse(text);
    if (typeof s.token !== "string" || Date.now() >= s.expires_at_ms) {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return s;
  } catch {
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }
}

/** Forgets the session. */
export function logout() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** A random UUID (v4) naming this browser tab as a device for the login. */
function deviceId() {
  return crypto.randomUUID();
}

async function errorOf(response) {
  let code = "http_" + response.status;
  let message = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code;
      message = body.error.message;
    }
  } catch {
    // Not a JSON error body: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** Logs in; keeps and returns the session. */
export async function login(org, username, password) {
  const response = await fetch("/v1/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ org, username, password, device_id: deviceId() }),
  });
  if (!response.ok) throw await errorOf(response);
  const answer = await response.json();
  const s = { token: answer.token, user: answer.user, expires_at_ms: answer.expires_at_ms };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

async function call(method, path, body, as) {
  const s = session();
  if (!s) throw new ApiError(401, "unauthenticated", "not signed in");
  const headers = { authorization: "Bearer " + s.token };
  const init = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  return as === "blob" ? response.blob() : response.json();
}

/** `GET path` as JSON. */
export const get = (path) => call("GET", path);
/** `POST path` with a JSON body, answered in JSON. */
export const post = (path, body) => call("POST", path, body ?? {});
/** `PATCH path` with a JSON body, answered in JSON. */
export const patch = (path, body) => call("PATCH", path, body);
/** `GET path` as bytes. */
export const getBlob = (path) => call("GET", path, undefined, "blob");

/** `path?query` from an object, leaving out empty values. */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
