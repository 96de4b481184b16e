// GET /api/v1/info, asked once per session: the pages need its liveness settings and the
// overview shows the rest.
//
// The request is shared by every page, so it is never tied to one page's AbortSignal:
// leaving the overview must not cancel the answer the enroll and verify pages wait for.
// A page's signal only stops that page waiting. A failed request is not kept: the next
// caller asks again.

import { get } from './api.js';
import { can } from './session.js';

const NO_LIVENESS = Object.freeze({ required_for_enroll: false, required_for_verify: false });

let cached = null;

export function loadInfo({ fresh = false, signal } = {}) {
  if (fresh || !cached) {
    const request = get('/api/v1/info');
    cached = request;
    request.catch(() => { if (cached === request) cached = null; }); // ask again next time
  }
  return untilAborted(cached, signal);
}

export function forgetInfo() {
  cached = null;
}

// The liveness settings; without the recognize scope (no info) none are assumed, and the
// API's 403 liveness_required says otherwise.
export async function livenessSettings(signal) {
  if (!can('recognize')) return NO_LIVENESS;
  try {
    const info = await loadInfo({ signal });
    return { ...NO_LIVENESS, ...(info && info.liveness) };
  } catch {
    return NO_LIVENESS;
  }
}

// The shared promise, or an AbortError as soon as this caller's signal aborts (the shared
// request goes on for the others).
function untilAborted(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new DOMException('Aborted', 'AbortError'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DOMException('Aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
