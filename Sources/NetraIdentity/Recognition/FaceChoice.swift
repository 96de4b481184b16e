import NetraImaging
import NetraVision

/// A face box as NETRA reports it: clipped to the image, `right` and `bottom` exclusive.
///
/// This is the box every surface prints and the box "the face of an image" is chosen by, so
/// what is compared is always what is shown.
public struct ImageBox: Sendable, Equatable {
    public let left: Int
    public let top: Int
    public let right: Int
    public let bottom: Int

    /// The detector's rectangle (inclusive, possibly past the edges) clipped to `image`.
    public init(_ rect: PixelRect, in image: RGBImage) {
        left = max(0, rect.left)
        top = max(0, rect.top)
        right = max(left, min(image.width, rect.right + 1))
        bottom = max(top, min(image.height, rect.bottom + 1))
    }

    public var width: Int { right - left }
    public var height: Int { bottom - top }
    public var area: Int { width * height }
    /// `[x1, y1, x2, y2]`, the JSON form.
    public var corners: [Int] { [left, top, right, bottom] }
}

/// Which face stands for an image when one face is needed (verify, `enroll --largest`,
/// evaluation): the one rule every surface uses.
public enum FaceChoice: String, Sendable, CaseIterable, Codable {
    /// The largest box clipped to the image; ties go to the higher detector score, then to the
    /// box nearer the top-left corner. A face cut by the border counts only its visible part.
    case largest
    /// The face whose clipped box centre is nearest the image centre (benchmark sets such as
    /// LFW label the person in the middle); ties go to the larger box, then the higher score.
    case centre

    /// Parses `largest`, `centre` or `center`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "largest": self = .largest
        case "centre", "center": self = .centre
        default: return nil
        }
    }

    /// The chosen detection, or `nil` when there is none.
    public func pick(from detections: [FaceDetection], in image: RGBImage) -> FaceDetection? {
        let boxed = detections.map { (detection: $0, box: ImageBox($0.rect, in: image)) }
        switch self {
        case .largest:
            return boxed.min { a, b in
                if a.box.area != b.box.area { return a.box.area > b.box.area }
                if a.detection.score != b.detection.score { return a.detection.score > b.detection.score }
                return (a.box.top, a.box.left) < (b.box.top, b.box.left)
            }?.detection
        case .centre:
            func offset(_ box: ImageBox) -> Int {
                let dx = (box.left + box.right) - image.width, dy = (box.top + box.bottom) - image.height
                return dx * dx + dy * dy
            }
            return boxed.min { a, b in
                if offset(a.box) != offset(b.box) { return offset(a.box) < offset(b.box) }
                if a.box.area != b.box.area { return a.box.area > b.box.area }
                return a.detection.score > b.detection.score
            }?.detection
        }
    }
}
