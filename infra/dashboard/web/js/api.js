// The API client: one fetch wrapper that knows the API's base URL, how the
// session travels (cookie or bearer token) and how problems come back.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';

export const config = {
  api: meta('atrium-api').replace(/\/+$/, ''),
  // cookie: the API sets an HttpOnly session cookie and fetch sends it
  // (credentials: 'include'); bearer: the token lives in this variable only,
  // never in storage, so a reload logs out.
  auth: meta('atrium-auth') === 'bearer' ? 'bearer' : 'cookie',
};

let token = null;

// remember keeps the session token of a login in memory (bearer mode only).
export function remember(session) {
  if (config.auth === 'bearer') token = session?.token ?? null;
}

export function forget() { token = null; }

// ApiError is a failed call: the problem document's code (or network_error),
// its HTTP status, and Retry-After in seconds when the answer had one.
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.detail || problem.code || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status ? `http_${status}` : 'network_error');
    this.detail = problem.detail || '';
    this.fields = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.request_id || '';
    const s = Number.parseInt(retryAfter ?? '', 10);
    this.retryAfter = Number.isFinite(s) && s >= 0 ? s : null;
  }
}

async function send(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (config.auth === 'bearer' && token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(config.api + path, {
      method, headers, cache: 'no-store',
      credentials: config.auth === 'cookie' ? 'include' : 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: 'network_error' });
  }
  if (!res.ok) {
    let problem = {};
    try { problem = await res.json(); } catch { /* not a problem document */ }
    throw new ApiError(res.status, problem && typeof problem === 'object' ? problem : {}, res.headers.get('Retry-After'));
  }
  return res;
}

// call sends a request and returns the decoded JSON body (null for 204).
export async function call(method, path, body) {
  const res = await send(method, path, body);
  if (res.status === 204) return null;
  return res.json();
}

// download fetches a file the API offers as an attachment.
export async function download(path, fallbackName) {
  const res = await send('GET', path);
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="([^"\\/]+)"/.exec(cd);
  return { blob: await res.blob(), filename: m ? m[1] : fallbackName };
}
