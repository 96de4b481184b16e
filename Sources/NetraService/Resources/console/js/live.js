// The live webcam panels of identify and detect: the camera, a frame about every intervalMs
// to the API (one request at a time, cancelled when the panel stops), each answer's boxes
// drawn over the mirrored preview and its faces listed.

import { ApiError } from './api.js';
import { showStatus, showError, clearMessages, clearError, isAbort } from './messages.js';
import { panelCamera, cameraRunning, grabJpeg } from './camera.js';
import { frameLoop } from './loop.js';
import { drawBoxes, clearOverlay } from './overlay.js';

export const LIVE_INTERVAL_MS = 333; // about 3 frames a second

// options: video, overlay (canvas), results (ul), startButton, stopButton, signal (the
// page's), label ("Live identify"), send(blob, signal) -> the API's answer, and
// describe(answer) -> { boxes, items } (drawBoxes' faces and the list's <li>s; may be async).
// Returns { stop }.
export function setUpLive({ video, overlay, results, startButton, stopButton, signal, label, send, describe,
  intervalMs = LIVE_INTERVAL_MS }) {
  const frameCanvas = document.createElement('canvas');
  let loop = null;
  let loopFailed = false;
  const camera = panelCamera(video, signal, {
    started() {
      if (loop) loop.stop(); // never two loops
      loop = frameLoop(step, intervalMs, signal);
    },
  });

  async function step(loopSignal) {
    if (!cameraRunning(video)) return 0;
    const frame = await grabJpeg(video, frameCanvas);
    if (loopSignal.aborted) return 0;
    let answer;
    try {
      answer = await send(frame.blob, loopSignal);
    } catch (error) {
      if (isAbort(error) || error.handled || loopSignal.aborted) throw error;
      loopFailed = true;
      showError(error);
      return error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
    }
    const shown = await describe(answer);
    if (loopSignal.aborted) return 0; // stopped while the answer was on its way
    if (loopFailed) { clearError(); loopFailed = false; }
    drawBoxes(overlay, shown.boxes, { frameWidth: frame.width, frameHeight: frame.height, mirrored: true });
    results.replaceChildren(...shown.items);
    return 0;
  }

  async function start() {
    clearMessages();
    startButton.disabled = true;
    results.replaceChildren(); // the list is of this run's picture, not of the last run's
    try {
      await camera.start();
    } catch (error) {
      if (!camera.running && !camera.starting) startButton.disabled = false;
      showError(error); // nothing for an AbortError (stopped, or the page left)
      return;
    }
    stopButton.disabled = false;
    showStatus(`${label} is on.`);
  }

  function stop() {
    const wasRunning = Boolean(loop);
    if (loop) loop.stop();
    loop = null;
    camera.stop();
    clearOverlay(overlay);
    startButton.disabled = false;
    stopButton.disabled = true;
    if (wasRunning && startButton.isConnected) showStatus(`${label} stopped.`);
  }

  startButton.addEventListener('click', start);
  stopButton.addEventListener('click', stop);
  return { stop };
}
