// The head's turn from the five landmarks, for the detect page.

// HeadPose.yaw of the server (Sources/NetraIdentity/Liveness/HeadPose.swift), step for step:
// the offset of the nose base (point 4) from the midpoint of the two eye centres (points 0, 1
// the eye on the image's right, 2, 3 the eye on the image's left), measured along the line
// through the eyes, in inter-eye distances. 0 is frontal; positive is a turn to the person's
// own left (in the unmirrored image the nose moves to the image's right). null when there
// are not five points or the eyes coincide. Keep it in step with HeadPose.swift.
export function headYaw(landmarks) {
  if (!Array.isArray(landmarks) || landmarks.length !== 5) return null;
  const p = landmarks.map((point) => (Array.isArray(point) ? [Number(point[0]), Number(point[1])] : [Number(point.x), Number(point.y)]));
  if (p.some(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y))) return null;
  const rightEye = { x: (p[0][0] + p[1][0]) / 2, y: (p[0][1] + p[1][1]) / 2 };
  const leftEye = { x: (p[2][0] + p[3][0]) / 2, y: (p[2][1] + p[3][1]) / 2 };
  const axis = { x: rightEye.x - leftEye.x, y: rightEye.y - leftEye.y };
  const eyeDistance = Math.sqrt(axis.x * axis.x + axis.y * axis.y);
  if (!(eyeDistance > 0)) return null;
  const middle = { x: (rightEye.x + leftEye.x) / 2, y: (rightEye.y + leftEye.y) / 2 };
  const nose = { x: p[4][0] - middle.x, y: p[4][1] - middle.y };
  return (nose.x * axis.x + nose.y * axis.y) / (eyeDistance * eyeDistance);
}

// 'left', 'right' (the person's own), 'frontal', or 'unknown', by the liveness rule: turned
// at |yaw| >= turn_yaw.
export function turnOf(yaw, turnYaw) {
  if (yaw === null) return 'unknown';
  if (yaw >= turnYaw) return 'left';
  if (yaw <= -turnYaw) return 'right';
  return 'frontal';
}
