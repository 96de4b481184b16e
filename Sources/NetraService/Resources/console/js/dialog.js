// The confirmation dialog (dialog#confirm). showModal() makes the rest of the page inert
// and keeps the focus inside; Escape cancels.

function parts() {
  return {
    dialog: document.getElementById('confirm'),
    text: document.getElementById('confirm-text'),
    yes: document.getElementById('confirm-yes'),
    no: document.getElementById('confirm-no'),
  };
}

export function initDialog() {
  const { dialog, yes, no } = parts();
  yes.addEventListener('click', () => dialog.close('yes'));
  no.addEventListener('click', () => dialog.close('no'));
}

// Resolves true when the operator presses the yes button, false for Cancel or Escape.
export function confirmAction(question, yesLabel = 'Delete') {
  const { dialog, text, yes, no } = parts();
  if (dialog.open) dialog.close('no');
  text.textContent = question;
  yes.textContent = yesLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.showModal();
    no.focus(); // the harmless answer first
  });
}

export function closeDialog() {
  const { dialog } = parts();
  if (dialog.open) dialog.close('no');
}
