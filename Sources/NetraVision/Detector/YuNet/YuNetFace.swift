/// One face YuNet found: its box, score and five landmarks, in the image's pixels.
public struct YuNetFace: Sendable, Equatable {
    /// A box by its top-left corner and size, in pixels (fractional; it may reach past the
    /// image's edges, as the library's does).
    public struct Box: Sendable, Equatable {
        /// The left edge.
        public var x: Float
        /// The top edge.
        public var y: Float
        /// The width, from the left edge to the right one.
        public var width: Float
        /// The height, from the top edge to the bottom one.
        public var height: Float

        public init(x: Float, y: Float, width: Float, height: Float) {
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }
    }

    /// Where the face is: the library's box (`YuNetBoxMapping` turns it into dlib's).
    public var box: Box
    /// The library's confidence, 0...1: `sqrt(sigmoid(class score) * sigmoid(objectness))`
    /// (libfacedetection reports it times 100, truncated to an integer).
    public var score: Float
    /// Five points in the library's order, named from the person's point of view: right eye,
    /// left eye, nose tip, right mouth corner, left mouth corner. In an upright photo facing
    /// the camera the person's right eye is the one on the image's left (smaller x).
    public var landmarks: [Point]

    /// A face from its box, score and exactly five `landmarks` in the library's order (see
    /// `landmarks`); any other count is a programming error and traps.
    public init(box: Box, score: Float, landmarks: [Point]) {
        precondition(landmarks.count == 5, "a YuNet face has 5 landmarks, not \(landmarks.count)")
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }

    /// The person's right eye (the image's left, facing the camera).
    public var rightEye: Point { landmarks[0] }
    /// The person's left eye.
    public var leftEye: Point { landmarks[1] }
    /// The tip of the nose.
    public var noseTip: Point { landmarks[2] }
    /// The person's right mouth corner.
    public var rightMouthCorner: Point { landmarks[3] }
    /// The person's left mouth corner.
    public var leftMouthCorner: Point { landmarks[4] }
}

extension YuNetFace.Box {
    /// Intersection over union with `other`; boxes that only touch, or do not meet, overlap 0.
    func overlap(with other: YuNetFace.Box) -> Float {
        let width = min(x + self.width, other.x + other.width) - max(x, other.x)
        let height = min(y + self.height, other.y + other.height) - max(y, other.y)
        guard width > 0, height > 0 else { return 0 }
        let inner = width * height
        return inner / (self.width * self.height + other.width * other.height - inner)
    }

    /// Every edge and the size are finite numbers.
    var isFinite: Bool {
        x.isFinite && y.isFinite && width.isFinite && height.isFinite && (x + width).isFinite && (y + height).isFinite
    }
}
