// Verify page: are two photos the same person? The webcam can be the second photo, after a
// liveness check when the service asks for one.

import { post, formData } from './api.js';
import { cloneTemplate, h, busy } from './dom.js';
import { showStatus, showError, clearMessages, isAbort } from './messages.js';
import { panelCamera, cameraRunning, grabJpeg, wait } from './camera.js';
import { mountLiveness } from './liveness.js';
import { livenessSettings } from './info.js';
import { formatScore } from './format.js';

export const title = 'Verify';

const SETTLE_MS = 700; // a freshly started camera needs a moment for exposure and focus

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-verify'));
  const $ = (id) => view.querySelector(`#${id}`);
  const video = $('verify-video');
  const file1 = $('verify-file1');
  const file2 = $('verify-file2');
  const result = $('verify-result');
  const cameraButton = $('verify-camera');
  const stopButton = $('verify-camera-stop');
  const frameCanvas = document.createElement('canvas');

  // The webcam button, the form's compare and the liveness check's ensureCamera share one
  // start (panelCamera): one getUserMedia, one stream.
  const camera = panelCamera(video, signal, {
    async started() {
      stopButton.disabled = false;
      await wait(SETTLE_MS, signal);
    },
  });

  const liveness = mountLiveness(view.querySelector('.liveness-slot'), { video, signal, ensureCamera: startIfNeeded });
  livenessSettings(signal).then((settings) => {
    liveness.setRequired(settings.required_for_verify);
    $('verify-liveness-note').hidden = !settings.required_for_verify;
  });

  // Starts the camera when it is off (or joins the start in flight); true when it was just
  // started.
  function startIfNeeded() {
    return camera.start();
  }

  function stop() {
    camera.stop();
    stopButton.disabled = true;
  }

  async function cameraFrame() {
    const frame = await grabJpeg(video, frameCanvas);
    return new File([frame.blob], 'webcam.jpg', { type: 'image/jpeg' });
  }

  function firstPhoto() {
    const file = file1.files[0];
    if (!file) {
      showError(new Error('Choose the first photo.'));
      file1.focus();
    }
    return file || null;
  }

  // The liveness id to send: a passed check, after running one when the service needs it
  // and the live camera is the second photo. undefined means "do not compare".
  async function livenessFor(usingCamera) {
    if (usingCamera && liveness.required && !liveness.hasPassed()) {
      showStatus('A liveness check comes first.');
      if (!(await liveness.run())) return undefined;
    }
    return liveness.takePassed();
  }

  async function compare(image1, image2, challenge) {
    showStatus('Comparing…');
    result.replaceChildren();
    delete result.dataset.match;
    try {
      const answer = await post('/api/v1/verify', {
        form: formData({ image1, image2, liveness_challenge: challenge }), signal,
      });
      showAnswer(answer);
      showStatus(answer.is_match ? 'The faces match.' : 'The faces do not match.');
    } catch (error) {
      if (error.code === 'liveness_required') liveness.setRequired(true);
      showError(error);
    }
  }

  function showAnswer(answer) {
    result.dataset.match = String(Boolean(answer.is_match));
    result.dataset.similarity = String(answer.similarity_score);
    result.replaceChildren(
      h('p', { class: 'verdict' }, answer.is_match ? 'Same person' : 'Not the same person'),
      h('p', {}, `Similarity ${formatScore(answer.similarity_score)} (threshold ${formatScore(answer.threshold_used)}; distance ${formatScore(answer.distance)}).`),
    );
    result.scrollIntoView({ block: 'nearest' });
  }

  // Compare: the two files, or the first with the webcam when no second file is chosen.
  async function submit() {
    clearMessages();
    const image1 = firstPhoto();
    if (!image1) return;
    const usingCamera = !file2.files[0];
    if (usingCamera && camera.starting) await camera.start(); // the webcam button's start, still settling
    if (usingCamera && !cameraRunning(video)) {
      showError(new Error('Choose the second photo, or use the webcam as the second photo.'));
      file2.focus();
      return;
    }
    if (!usingCamera && liveness.required && !liveness.hasPassed()) {
      showError(new Error('This service asks for a liveness check with every verification: leave the second photo empty and use the webcam.'));
      return;
    }
    const challenge = await livenessFor(usingCamera);
    if (challenge === undefined) return;
    const image2 = usingCamera ? await cameraFrame() : file2.files[0];
    await compare(image1, image2, challenge);
  }

  // The webcam button: starts the camera when needed, then compares the first photo with it.
  async function compareWithCamera() {
    clearMessages();
    try {
      await startIfNeeded();
    } catch (error) {
      showError(error);
      return;
    }
    const image1 = file1.files[0];
    if (!image1) {
      showStatus('The camera is on. Choose the first photo, then compare.');
      file1.focus();
      return;
    }
    const challenge = await livenessFor(true);
    if (challenge === undefined) return;
    await compare(image1, await cameraFrame(), challenge);
  }

  $('verify-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('verify-submit'), () => submit().catch(report));
  });
  cameraButton.addEventListener('click', () => busy(cameraButton, () => compareWithCamera().catch(report)));
  stopButton.addEventListener('click', stop);
  return stop;
}

function report(error) {
  if (!isAbort(error)) showError(error);
}
