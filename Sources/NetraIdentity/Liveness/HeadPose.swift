import NetraVision

/// How far a head is turned, read from the five landmarks NETRA already places (no extra model).
public enum HeadPose {
    /// The head's yaw: how far the base of the nose lies from the midpoint of the two eye
    /// centres, along the line through the eyes, in inter-eye distances (so the value is the
    /// same for near and far faces, and a tilted head does not read as a turn).
    ///
    /// 0 is a frontal face. Positive is a turn to the person's own left in the camera's
    /// (unmirrored) image: the nose moves towards the image's right. `nil` when the landmarks
    /// are not the five-point set or the eyes coincide.
    public static func yaw(landmarks points: [PixelPoint]) -> Double? {
        guard points.count == 5 else { return nil }
        // dlib's order: 0, 1 the eye on the image's right (outer, inner corner), 2, 3 the eye on
        // the image's left, 4 the base of the nose.
        let rightEye = (x: Double(points[0].x + points[1].x) / 2, y: Double(points[0].y + points[1].y) / 2)
        let leftEye = (x: Double(points[2].x + points[3].x) / 2, y: Double(points[2].y + points[3].y) / 2)
        let axis = (x: rightEye.x - leftEye.x, y: rightEye.y - leftEye.y)
        let eyeDistance = (axis.x * axis.x + axis.y * axis.y).squareRoot()
        guard eyeDistance > 0 else { return nil }
        let middle = (x: (rightEye.x + leftEye.x) / 2, y: (rightEye.y + leftEye.y) / 2)
        let nose = (x: Double(points[4].x) - middle.x, y: Double(points[4].y) - middle.y)
        return (nose.x * axis.x + nose.y * axis.y) / (eyeDistance * eyeDistance)
    }
}
