// The webcam: start and stop it, and grab frames as JPEG blobs. Frames live only in memory
// (a canvas and the blob sent to the API); nothing is stored and no object URL is made.

export const FRAME_CONSTRAINTS = { video: { width: 640, height: 480 }, audio: false };
export const JPEG_QUALITY = 0.85;

// Starts the camera into a <video>; resolves once frames arrive. A stream the video already
// shows is stopped first. The new stream is stopped again if the page was left (signal
// aborted) or the start was called off (cancelled() true) while the browser asked for
// permission; the start then rejects with an AbortError.
export async function startCamera(video, signal, cancelled = () => false) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error('This browser offers no camera here (the console needs HTTPS or localhost for the camera).');
  }
  const calledOff = () => Boolean((signal && signal.aborted) || cancelled());
  stopCamera(video);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(FRAME_CONSTRAINTS);
  } catch (error) {
    throw new Error(cameraProblem(error));
  }
  if (calledOff()) {
    stopTracks(stream);
    throw new DOMException('The camera start was called off.', 'AbortError');
  }
  stopCamera(video); // nothing else may have put a stream there meanwhile, but never leak one
  video.srcObject = stream;
  await video.play();
  if (!video.videoWidth && video.srcObject === stream) {
    await new Promise((resolve) => {
      video.addEventListener('loadedmetadata', resolve, { once: true });
      video.addEventListener('emptied', resolve, { once: true }); // stopped meanwhile
    });
  }
  if (calledOff() || video.srcObject !== stream) {
    stopTracks(stream);
    if (video.srcObject === stream) video.srcObject = null;
    throw new DOMException('The camera start was called off.', 'AbortError');
  }
  fitToFrames(video);
  return stream;
}

// One webcam per panel. start() is shared: while the camera is starting every caller (the
// panel's start button, the liveness check's ensureCamera, ...) gets the same promise, so
// getUserMedia runs once and no stream is left behind. started() runs inside that promise
// once frames arrive (a panel starts its frame loop there, after stopping any old one).
// stop() stops the stream and calls off a start in flight (it rejects with an AbortError).
// start() resolves true when it started the camera, false when it was running already.
export function panelCamera(video, signal, { started = () => {} } = {}) {
  let starting = null;
  let generation = 0; // a start is current while no stop() or later start() came after it

  function start() {
    if (starting) return starting;
    if (cameraRunning(video)) return Promise.resolve(false);
    generation += 1;
    const mine = generation;
    const stale = () => mine !== generation;
    const attempt = (async () => {
      await startCamera(video, signal, stale);
      if (stale()) throw new DOMException('The camera start was called off.', 'AbortError');
      await started();
      if (stale()) throw new DOMException('The camera was stopped.', 'AbortError');
      return true;
    })();
    starting = attempt;
    attempt.then(() => {}, () => {}).then(() => { if (starting === attempt) starting = null; });
    return attempt;
  }

  function stop() {
    generation += 1;
    starting = null;
    stopCamera(video);
  }

  return {
    start,
    stop,
    get starting() { return Boolean(starting); },
    get running() { return cameraRunning(video); },
  };
}

export function stopCamera(video) {
  if (video && video.srcObject) {
    stopTracks(video.srcObject);
    video.srcObject = null;
  }
}

export function cameraRunning(video) {
  return Boolean(video && video.srcObject && video.srcObject.active && video.videoWidth);
}

function stopTracks(stream) {
  for (const track of stream.getTracks()) track.stop();
}

// The camera may not give 640×480; the preview box takes the frames' own shape so that
// the overlay's boxes land on the faces.
function fitToFrames(video) {
  const box = video.parentElement;
  if (box && video.videoWidth && video.videoHeight) box.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
}

function cameraProblem(error) {
  switch (error && error.name) {
    case 'NotAllowedError': return 'The camera was not allowed. Allow it in the browser for this site and try again.';
    case 'NotFoundError': return 'No camera was found.';
    case 'NotReadableError': return 'The camera is in use by another program.';
    case 'OverconstrainedError': return 'The camera cannot give 640×480 pictures.';
    default: return `The camera could not be started (${(error && error.message) || error}).`;
  }
}

// Draws the current video frame, unmirrored and at most maxWidth wide, into canvas.
export function drawFrame(video, canvas, maxWidth = Infinity) {
  const scale = Math.min(1, maxWidth / video.videoWidth);
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext('2d', { willReadFrequently: true }).drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas;
}

export function canvasToJpeg(canvas, quality = JPEG_QUALITY) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The frame could not be encoded as JPEG.'))),
      'image/jpeg', quality);
  });
}

// One frame as { blob, width, height }; canvas is reused from frame to frame.
export async function grabJpeg(video, canvas, { maxWidth = Infinity, quality = JPEG_QUALITY } = {}) {
  drawFrame(video, canvas, maxWidth);
  const blob = await canvasToJpeg(canvas, quality);
  return { blob, width: canvas.width, height: canvas.height };
}

// Resolves after ms, or rejects at once when the signal aborts.
export function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) { reject(new DOMException('Aborted', 'AbortError')); return; }
    // The listener goes when the time is up, so a long-lived page signal does not collect one per wait.
    const abort = () => { clearTimeout(timer); reject(new DOMException('Aborted', 'AbortError')); };
    const timer = setTimeout(() => { if (signal) signal.removeEventListener('abort', abort); resolve(); }, ms);
    if (signal) signal.addEventListener('abort', abort, { once: true });
  });
}
