// A frame loop for the webcam panels: runs step about every intervalMs, but never starts
// one before the last has finished, so a panel has at most one request in flight.

export function frameLoop(step, intervalMs) {
  let running = true;
  let paused = false;
  let timer = null;
  let current = null;

  async function tick() {
    timer = null;
    if (!running) return;
    const started = performance.now();
    let extraDelay = 0;
    if (!paused) {
      current = Promise.resolve().then(step);
      try {
        extraDelay = (await current) || 0; // a step may ask to wait longer (Retry-After)
      } catch {
        extraDelay = intervalMs; // the step reports its own errors; just slow down
      }
      current = null;
    }
    if (!running) return;
    const delay = Math.max(0, intervalMs - (performance.now() - started)) + extraDelay;
    timer = setTimeout(tick, delay);
  }

  tick();
  return {
    stop() {
      running = false;
      clearTimeout(timer);
    },
    // Resolves once the step in flight, if any, has finished.
    pause() {
      paused = true;
      return current ? current.catch(() => {}) : Promise.resolve();
    },
    resume() {
      paused = false;
    },
    get running() { return running; },
  };
}
