// The one way the console talks to NETRA: same-origin fetch, JSON or multipart bodies,
// the session's CSRF token on every write, and error bodies turned into ApiError.

const SESSION_PATH = '/api/v1/console/session';

// Kept in memory only: a reload asks the server for the session again.
let csrfToken = null;
let unauthorizedHandler = null;
let csrfRejectedHandler = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

// Called on a 401 from any route but the session's own (a wrong key at sign-in is not an
// ended session).
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

// Called on a 403 csrf_token_invalid (the session was replaced, say by a sign-in in another
// tab); resolves true when a fresh token for the same key is in place and the write may be
// sent once more.
export function onCsrfRejected(handler) {
  csrfRejectedHandler = handler;
}

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.handled = false;
  }
}

// method, path ('/api/v1/...'), and at most one of json (a value) or form (FormData).
// allowStatus lists non-2xx statuses whose body is an answer, not an error (/ready's 503).
export async function request(method, path, options = {}) {
  const { json, form, signal, allowStatus = [], retried = false } = options;
  const headers = { Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form; // the browser writes the multipart boundary
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  const response = await fetch(path, {
    method, headers, body, signal,
    credentials: 'same-origin', cache: 'no-store', redirect: 'error',
  });
  const data = await readBody(response);
  if (response.ok || allowStatus.includes(response.status)) return data;

  const error = toApiError(response, data);
  if (error.code === 'csrf_token_invalid' && !retried && csrfRejectedHandler && (await csrfRejectedHandler())) {
    return request(method, path, { ...options, retried: true });
  }
  if (response.status === 401 && !path.startsWith(SESSION_PATH) && unauthorizedHandler) {
    error.handled = true;
    unauthorizedHandler(error);
  }
  throw error;
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, options) => request('POST', path, options);
export const patch = (path, options) => request('PATCH', path, options);
export const del = (path, options) => request('DELETE', path, options);

async function readBody(response) {
  const type = response.headers.get('Content-Type') || '';
  try {
    return type.includes('json') ? await response.json() : await response.text();
  } catch {
    return null;
  }
}

function toApiError(response, data) {
  const detail = data && typeof data === 'object' ? data.error : null;
  const code = detail && detail.code ? String(detail.code) : `http_${response.status}`;
  const message = detail && detail.message
    ? String(detail.message)
    : `NETRA answered ${response.status} ${response.statusText || ''}`.trim();
  const seconds = Number.parseInt(response.headers.get('Retry-After') || '', 10);
  return new ApiError(response.status, code, message, Number.isFinite(seconds) ? seconds : null);
}

// The path of an id in a URL: ids come from the API, but are escaped all the same.
export function segment(value) {
  return encodeURIComponent(String(value));
}

// A multipart body from { field: value }: Blobs and Files as files, true as "true", and
// null, undefined and false left out.
export function formData(fields) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined || value === false) continue;
    if (value instanceof Blob) form.append(name, value, value.name || `${name}.jpg`);
    else form.append(name, String(value));
  }
  return form;
}
