// The liveness challenge of the webcam panels (enroll, verify): NETRA names head moves, the
// page shows each instruction while it films, then sends the frames in capture order with
// each frame's phase (0 "look at the camera", then 1, 2, ... for the instruction on screen).
// A passed challenge's id is kept (in memory) for the next enrollment or verification.

import { post, formData, segment } from './api.js';
import { cloneTemplate, h } from './dom.js';
import { grabJpeg, wait } from './camera.js';
import { showError, showStatus, clearError, isAbort } from './messages.js';

const LOOK_MS = 800;            // "Look at the camera" first: the face before any move
const STEP_MS = 2000;           // per instruction: time to react, turn and hold
const FRAME_INTERVAL_MS = 250;
const FRAME_WIDTH = 480;        // enough for the head pose, small to send

// Mounts the panel into slot. options: video, signal, ensureCamera() (starts the camera
// when needed), onBusy(true|false) (the page pauses its own frame loop meanwhile).
export function mountLiveness(slot, { video, signal, ensureCamera, onBusy = () => {} }) {
  slot.append(cloneTemplate('tpl-liveness'));
  const start = slot.querySelector('#liveness-start');
  const instruction = slot.querySelector('#liveness-instruction');
  const result = slot.querySelector('#liveness-result');
  const need = slot.querySelector('.liveness-need');
  const canvas = document.createElement('canvas');
  let required = false;
  let passed = null; // { id, until }
  let running = null;

  function describeNeed() {
    need.textContent = required
      ? 'Required: pass it before each capture; a passed check is used once.'
      : 'Optional: shows that a live person, not a photo, is in front of the camera.';
  }

  async function run() {
    if (running) return running;
    running = runChallenge().finally(() => { running = null; start.disabled = false; });
    return running;
  }

  async function runChallenge() {
    start.disabled = true;
    passed = null;
    result.replaceChildren();
    delete result.dataset.passed;
    clearError();
    try {
      await ensureCamera();
      await onBusy(true);
      const challenge = await post('/api/v1/liveness/challenges', { signal });
      const { frames, phases } = await film(challenge);
      instruction.textContent = 'Checking…';
      const fields = Object.fromEntries(frames.map((blob, index) => [`frame${index}`, blob]));
      fields.phases = phases.join(',');
      const answer = await post(`/api/v1/liveness/challenges/${segment(challenge.id)}`, { form: formData(fields), signal });
      instruction.textContent = '';
      showResult(answer);
      if (answer.passed) {
        const seconds = Number(answer.valid_for) || 60;
        passed = { id: answer.id || challenge.id, until: Date.now() + seconds * 1000 };
        showStatus('Liveness check passed.');
      }
      return Boolean(answer.passed);
    } catch (error) {
      instruction.textContent = '';
      if (isAbort(error)) return false;
      showFailure(error);
      showError(error);
      return false;
    } finally {
      onBusy(false);
    }
  }

  // Shows each instruction for its time and grabs frames meanwhile, within max_frames;
  // returns the frames and the phase (index into the plan) each was captured in.
  async function film(challenge) {
    const texts = stepTexts(challenge);
    const plan = [{ text: 'Look at the camera', ms: LOOK_MS }, ...texts.map((text) => ({ text, ms: STEP_MS }))];
    const maxFrames = Number(challenge.max_frames) || 24;
    const totalMs = plan.reduce((sum, part) => sum + part.ms, 0);
    // Spread the frames out when the usual pace would pass max_frames.
    const interval = Math.max(FRAME_INTERVAL_MS, Math.ceil(totalMs / maxFrames));
    const frames = [];
    const phases = [];
    for (const [phase, part] of plan.entries()) {
      instruction.textContent = part.text;
      const end = performance.now() + part.ms;
      while (performance.now() < end && frames.length < maxFrames) {
        const started = performance.now();
        frames.push((await grabJpeg(video, canvas, { maxWidth: FRAME_WIDTH })).blob);
        phases.push(phase);
        await wait(Math.max(0, Math.min(interval - (performance.now() - started), end - performance.now())), signal);
      }
    }
    return { frames, phases };
  }

  function showResult(answer) {
    result.dataset.passed = String(Boolean(answer.passed));
    const reasons = Array.isArray(answer.reasons) ? answer.reasons : [];
    result.replaceChildren(
      h('p', { class: 'verdict' }, answer.passed ? 'Liveness check passed' : 'Liveness check failed'),
      reasons.length ? h('ul', { class: 'reasons' }, reasons.map((reason) => h('li', {}, reason))) : '',
      answer.passed ? h('p', {}, `Valid for ${answer.valid_for} s, for one enrollment or verification.`) : '',
    );
  }

  function showFailure(error) {
    result.dataset.passed = 'false';
    result.replaceChildren(
      h('p', { class: 'verdict' }, 'Liveness check failed'),
      h('ul', { class: 'reasons' }, h('li', {}, `${error.message}${error.code ? ` (${error.code})` : ''}`)),
    );
  }

  start.addEventListener('click', () => { run(); });
  describeNeed();

  return {
    run,
    setRequired(value) { required = Boolean(value); describeNeed(); },
    get required() { return required; },
    hasPassed() { return Boolean(passed) && passed.until > Date.now(); },
    // The passed id for one request; it is spent by using it.
    takePassed() {
      const id = passed && passed.until > Date.now() ? passed.id : null;
      passed = null;
      if (id) need.textContent = 'The passed check was used; run it again for the next one.';
      return id;
    },
  };
}

function stepTexts(challenge) {
  const steps = Array.isArray(challenge.steps) ? challenge.steps : [];
  const texts = Array.isArray(challenge.instructions) ? challenge.instructions : [];
  const count = Math.max(steps.length, texts.length);
  return Array.from({ length: count }, (_, index) =>
    texts[index] || `Turn your head to your ${steps[index]}`);
}
