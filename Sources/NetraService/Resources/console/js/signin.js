// Sign-in page: the API key is sent once, for a session cookie, and the input is emptied
// before the answer comes, so the page does not hold the key.

import { cloneTemplate } from './dom.js';
import { showStatus, showError, clearMessages } from './messages.js';
import { signIn } from './session.js';

export const title = 'Sign in';

export function render(view, { onSignedIn }) {
  view.append(cloneTemplate('tpl-signin'));
  const form = view.querySelector('#signin-form');
  const input = view.querySelector('#signin-key');
  const button = view.querySelector('#signin-submit');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearMessages();
    const key = input.value.trim();
    input.value = '';
    if (!key) {
      showError(new Error('Enter an API key.'));
      input.focus();
      return;
    }
    button.disabled = true;
    showStatus('Signing in…');
    try {
      await signIn(key);
      onSignedIn();
    } catch (error) {
      showError(error);
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  input.focus();
}
