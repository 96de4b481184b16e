// Who is signed in and what the session may do. The API key itself is sent once, at
// sign-in; afterwards only the HttpOnly cookie and the CSRF token (in api.js) remain.

import { get, post, del, setCsrfToken } from './api.js';

const SESSION_PATH = '/api/v1/console/session';
const SIGNED_OUT = Object.freeze({ signed_in: false, key_required: true, scopes: [] });

let session = SIGNED_OUT;

function apply(answer) {
  session = answer && typeof answer === 'object' ? answer : SIGNED_OUT;
  if (!Array.isArray(session.scopes)) session = { ...session, scopes: [] };
  setCsrfToken(session.csrf_token);
  return session;
}

export function current() {
  return session;
}

// admin implies every scope.
export function can(scope) {
  return session.scopes.includes('admin') || session.scopes.includes(scope);
}

export function needsSignIn() {
  return session.key_required !== false && !session.signed_in;
}

export async function loadSession() {
  return apply(await get(SESSION_PATH));
}

export async function signIn(apiKey) {
  return apply(await post(SESSION_PATH, { json: { api_key: apiKey } }));
}

// Ends the session on the server; the page forgets it even when that fails.
export async function signOut() {
  try {
    if (session.signed_in) await del(SESSION_PATH);
  } finally {
    apply(SIGNED_OUT);
  }
}

// After a 401: the server has no session for us any more.
export function markEnded() {
  apply(SIGNED_OUT);
}
