// A frame loop for the webcam panels: runs step about every intervalMs, but never starts
// one before the last has finished, so a panel has at most one request in flight.
//
// step(signal) gets the loop's own AbortSignal, aborted by stop() and by the page's signal
// (parentSignal): a request in flight when the loop stops is cancelled, not left to answer
// into a stopped panel. Before touching the page after an await a step checks
// signal.aborted (a stopped loop's answer may still arrive).

export function frameLoop(step, intervalMs, parentSignal) {
  const controller = new AbortController();
  const signal = controller.signal;
  let paused = false;
  let timer = null;
  let current = null;

  const abort = () => controller.abort();
  if (parentSignal) {
    if (parentSignal.aborted) controller.abort();
    else parentSignal.addEventListener('abort', abort, { once: true });
  }

  async function tick() {
    timer = null;
    if (signal.aborted) return;
    const started = performance.now();
    let extraDelay = 0;
    if (!paused) {
      current = Promise.resolve().then(() => step(signal));
      try {
        extraDelay = (await current) || 0; // a step may ask to wait longer (Retry-After)
      } catch {
        extraDelay = intervalMs; // the step reports its own errors; just slow down
      }
      current = null;
    }
    if (signal.aborted) return;
    const delay = Math.max(0, intervalMs - (performance.now() - started)) + extraDelay;
    timer = setTimeout(tick, delay);
  }

  tick();
  return {
    stop() {
      clearTimeout(timer);
      timer = null;
      if (parentSignal) parentSignal.removeEventListener('abort', abort);
      controller.abort();
    },
    // Resolves once the step in flight, if any, has finished.
    pause() {
      paused = true;
      return current ? current.catch(() => {}) : Promise.resolve();
    },
    resume() {
      paused = false;
    },
    get running() { return !signal.aborted; },
    signal,
  };
}
