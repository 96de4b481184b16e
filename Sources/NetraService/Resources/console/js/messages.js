// The two message areas of the page: #status (progress, success; polite live region) and
// #error (role=alert; the API's message and code).

let pendingStatus = null;
let pendingError = null;

const statusBox = () => document.getElementById('status');
const errorBox = () => document.getElementById('error');

export function showStatus(text) {
  statusBox().textContent = text || '';
}

export function clearError() {
  errorBox().replaceChildren();
}

export function clearMessages() {
  showStatus('');
  clearError();
}

export function isAbort(error) {
  return Boolean(error) && error.name === 'AbortError';
}

// Shows an error: an ApiError as its message and code, anything else as its message.
// Aborted requests (a page left) and 401s (already sent to sign-in) show nothing.
export function showError(error) {
  if (!error || isAbort(error) || error.handled) return;
  showStatus('');
  const box = errorBox();
  const message = document.createElement('span');
  message.className = 'error-message';
  message.textContent = describe(error);
  box.replaceChildren(message);
  if (error.code) {
    const code = document.createElement('code');
    code.className = 'error-code';
    code.textContent = error.code;
    box.append(' ', code);
  }
}

// A readable sentence for any error: fetch's TypeError means the network, not the API.
export function describe(error) {
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return `NETRA could not be reached (${error.message}).`;
  }
  return error.message || String(error);
}

// Messages to show on the next page, after the router has cleared the old page's.
export function statusAfterNavigation(text) {
  pendingStatus = text;
}

export function errorAfterNavigation(error) {
  pendingError = error;
}

export function showPending() {
  if (pendingStatus) showStatus(pendingStatus);
  if (pendingError) showError({ message: pendingError.message, code: pendingError.code });
  pendingStatus = null;
  pendingError = null;
}
