// GET /api/v1/info, asked once per session: the pages need its liveness settings and the
// overview shows the rest.

import { get } from './api.js';
import { can } from './session.js';

const NO_LIVENESS = Object.freeze({ required_for_enroll: false, required_for_verify: false });

let cached = null;

export function loadInfo({ fresh = false, signal } = {}) {
  if (fresh || !cached) {
    cached = get('/api/v1/info', { signal });
    cached.catch(() => { cached = null; }); // ask again next time
  }
  return cached;
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
