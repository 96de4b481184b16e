/// One face YuNet found: its box, score and five landmarks, in the image's pixels.
public struct YuNetFace: Sendable, Equatable {
    /// A box by its top-left corner and size, in pixels (fractional; it may reach past the
    /// image's edges, as the library's does).
    public struct Box: Sendable, Equatable {
        public var x: Float
        public var y: Float
        public var width: Float
        public var height: Float

        public init(x: Float, y: Float, width: Float, height: Float) {
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }
    }

    public var box: Box
    /// The library's confidence, 0...1: `sqrt(sigmoid(class score) * sigmoid(objectness))`
    /// (libfacedetection reports it times 100, truncated to an integer).
    public var score: Float
    /// Five points in the library's order, named from the person's point of view: right eye,
    /// left eye, nose tip, right mouth corner, left mouth corner. In an upright photo facing
    /// the camera the person's right eye is the one on the image's left (smaller x).
    public var landmarks: [Point]

    public init(box: Box, score: Float, landmarks: [Point]) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }

    /// The person's right eye (the image's left, facing the camera).
    public var rightEye: Point { landmarks[0] }
    /// The person's left eye.
    public var leftEye: Point { landmarks[1] }
    public var noseTip: Point { landmarks[2] }
    /// The person's right mouth corner.
    public var rightMouthCorner: Point { landmarks[3] }
    /// The person's left mouth corner.
    public var leftMouthCorner: Point { landmarks[4] }
}
