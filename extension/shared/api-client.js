// The backend's HTTP API, as the service worker calls it. Only the worker imports this:
// content scripts' requests would carry the helpdesk's origin and hit its CORS and Chrome's
// local-network rules.

import { ERROR, failure, success } from './messages.js';
import { apiRoot } from './config.js';

const TIMEOUT_MS = 15000;

/**
 * One request; resolves to a Result (never throws). Problem documents (RFC 9457) become
 * `{ kind, status, title, detail, fields, reason }`.
 */
export async function apiRequest(config, { method = 'GET', path, query, body, auth = true }) {
  if (!config.backendUrl) {
    return failure(ERROR.NOT_CONFIGURED, 'Set the Reply Assist server URL in the extension options.');
  }
  if (auth && !config.token) {
    return failure(ERROR.NOT_CONFIGURED, 'Set your API token in the extension options.');
  }
  const root = apiRoot(config.backendUrl);
  let url;
  try {
    url = new URL(root + path);
  } catch {
    return failure(ERROR.NOT_CONFIGURED, `"${config.backendUrl}" is not a URL. Fix it in the options.`);
  }
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Accept: 'application/json' };
  if (auth) headers.Authorization = `Bearer ${config.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    const timedOut = error.name === 'TimeoutError';
    return failure(
      ERROR.NETWORK,
      timedOut
        ? `Reply Assist at ${url.origin} did not answer within ${TIMEOUT_MS / 1000} s.`
        : `Can't reach Reply Assist at ${url.origin}. Is the server running?`,
      { title: timedOut ? 'Server too slow' : 'Server unreachable' },
    );
  }

  const data = await readJson(response);
  if (response.ok) {
    if (data === undefined) {
      return failure(ERROR.HTTP, `${url.origin} answered, but not with JSON: is it a Reply Assist server?`, {
        status: response.status,
      });
    }
    return success(data);
  }
  return failure(...problemOf(response.status, data, url));
}

async function readJson(response) {
  const type = response.headers.get('Content-Type') || '';
  if (!/json/.test(type)) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function problemOf(status, problem, url) {
  const p = problem && typeof problem === 'object' ? problem : {};
  const extra = { status, title: p.title || `HTTP ${status}`, type: p.type || '' };
  const detail = p.detail || `${url.origin} answered HTTP ${status}.`;
  if (status === 401) {
    return [ERROR.AUTH, `The server refused the token: ${detail} Check the token in the options.`, extra];
  }
  if (status === 403) return [ERROR.FORBIDDEN, detail, extra];
  if (status === 422) {
    const fields = (p.errors && p.errors.fields) || {};
    return [ERROR.VALIDATION, detail, { ...extra, fields, errors: p.errors || {} }];
  }
  if (status === 409) {
    const notEligible = String(p.type || '').endsWith('/not-eligible');
    return [
      notEligible ? ERROR.NOT_ELIGIBLE : ERROR.CONFLICT,
      detail,
      { ...extra, reason: p.reason || null, limit: p.limit || null, availableFrom: p.available_from || null },
    ];
  }
  if (status === 404 && !problem) {
    return [ERROR.HTTP, `${url.pathname} is not on this server: is ${url.origin} a Reply Assist server?`, extra];
  }
  return [ERROR.HTTP, detail, extra];
}
