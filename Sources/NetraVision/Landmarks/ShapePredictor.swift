import Foundation
import NetraImaging

/// dlib's 5-point shape predictor (`shape_predictor_5_face_landmarks.dat`): a cascade of
/// regression-tree forests that refines a mean face shape inside a detection box.
///
/// Points come back in the model's order: 0, 1 the outer and inner corner of the eye on the
/// image's right, 2, 3 those of the eye on the image's left, 4 the base of the nose; as
/// integer pixels, exactly as dlib rounds them (the alignment depends on that rounding).
public final class ShapePredictor: Sendable {
    private struct Tree: Sendable {
        /// Per split node (heap order): pixel indices and threshold.
        let splitFirst: [Int32]
        let splitSecond: [Int32]
        let thresholds: [Float]
        /// Per leaf: `pointCount * 2` shape offsets, flattened.
        let leaves: [Float]
    }

    private struct Cascade: Sendable {
        let trees: [Tree]
        let anchors: [Int]
        /// Per feature pixel: offset from its anchor point in normalised units (x, y).
        let deltas: [(Float, Float)]
    }

    private let initialShape: [Float]
    private let cascades: [Cascade]
    public var pointCount: Int { initialShape.count / 2 }

    /// Loads the model file.
    public convenience init(modelFile: URL) throws(VisionError) {
        let bytes = try ModelFileReader.bytes(at: modelFile)
        do {
            try self.init(bytes: bytes)
        } catch {
            throw .invalidModel(file: modelFile.path, reason: "\(error) (a wrong or truncated file)")
        }
    }

    package init(bytes: [UInt8]) throws(DlibFormatError) {
        var reader = DlibReader(bytes)
        guard try reader.int() == 1 else { throw reader.error("unsupported shape predictor version") }
        initialShape = try reader.floatMatrix()
        let points = initialShape.count / 2
        guard points > 0, initialShape.count % 2 == 0 else { throw reader.error("empty initial shape") }
        var forests: [[Tree]] = []
        for _ in 0..<(try reader.count(atMost: 100)) {
            var trees: [Tree] = []
            for _ in 0..<(try reader.count(atMost: 10_000)) {
                let splitCount = try reader.count(atMost: 1 << 12)
                var first: [Int32] = [], second: [Int32] = [], thresholds: [Float] = []
                for _ in 0..<splitCount {
                    first.append(Int32(try reader.count(atMost: 1 << 16)))
                    second.append(Int32(try reader.count(atMost: 1 << 16)))
                    thresholds.append(try reader.float())
                }
                let leafCount = try reader.count(atMost: 1 << 13)
                guard leafCount == splitCount + 1 else { throw reader.error("a tree needs one leaf more than splits") }
                var leaves: [Float] = []
                for _ in 0..<leafCount {
                    let leaf = try reader.floatMatrix()
                    guard leaf.count == initialShape.count else { throw reader.error("leaf size does not match the shape") }
                    leaves += leaf
                }
                trees.append(Tree(splitFirst: first, splitSecond: second, thresholds: thresholds, leaves: leaves))
            }
            forests.append(trees)
        }
        var anchors: [[Int]] = []
        for _ in 0..<(try reader.count(atMost: 100)) {
            var list: [Int] = []
            for _ in 0..<(try reader.count(atMost: 1 << 16)) {
                let anchor = try reader.count(atMost: points - 1)
                list.append(anchor)
            }
            anchors.append(list)
        }
        var deltas: [[(Float, Float)]] = []
        for _ in 0..<(try reader.count(atMost: 100)) {
            var list: [(Float, Float)] = []
            for _ in 0..<(try reader.count(atMost: 1 << 16)) {
                list.append((try reader.float(), try reader.float()))
            }
            deltas.append(list)
        }
        guard reader.isAtEnd else { throw reader.error("unexpected data after the model") }
        guard anchors.count == forests.count, deltas.count == forests.count else {
            throw reader.error("cascade counts do not match")
        }
        var cascades: [Cascade] = []
        for index in forests.indices {
            guard anchors[index].count == deltas[index].count else { throw reader.error("feature counts do not match") }
            for tree in forests[index] {
                let features = Int32(anchors[index].count)
                guard tree.splitFirst.allSatisfy({ $0 < features }), tree.splitSecond.allSatisfy({ $0 < features }) else {
                    throw reader.error("a split reads a feature that does not exist")
                }
            }
            cascades.append(Cascade(trees: forests[index], anchors: anchors[index], deltas: deltas[index]))
        }
        self.cascades = cascades
    }

    /// The landmarks of the face inside `box` (normally a detection) in `image`.
    public func landmarks(in image: RGBImage, box: PixelRect) -> [PixelPoint] {
        let gray = GrayLookup(image)
        let left = Double(box.left), top = Double(box.top)
        let spanX = Double(box.right - box.left), spanY = Double(box.bottom - box.top)
        var shape = initialShape
        let initialPoints = points(of: initialShape)
        var features: [Float] = []
        for cascade in cascades {
            let transform = SimilarityTransform(mapping: initialPoints, to: points(of: shape))
            let (a, b) = (Float(transform.a), Float(transform.b))
            features.removeAll(keepingCapacity: true)
            for (anchor, delta) in zip(cascade.anchors, cascade.deltas) {
                let qx = (a * delta.0 - b * delta.1) + shape[2 * anchor]
                let qy = (b * delta.0 + a * delta.1) + shape[2 * anchor + 1]
                let x = roundToPixel(left + spanX * Double(qx))
                let y = roundToPixel(top + spanY * Double(qy))
                features.append(gray.value(x: x, y: y))
            }
            for tree in cascade.trees {
                var node = 0
                let splits = tree.thresholds.count
                while node < splits {
                    let difference = features[Int(tree.splitFirst[node])] - features[Int(tree.splitSecond[node])]
                    node = difference > tree.thresholds[node] ? 2 * node + 1 : 2 * node + 2
                }
                let leaf = (node - splits) * shape.count
                for index in shape.indices { shape[index] += tree.leaves[leaf + index] }
            }
        }
        return (0..<pointCount).map { point in
            PixelPoint(x: roundToPixel(left + spanX * Double(shape[2 * point])),
                       y: roundToPixel(top + spanY * Double(shape[2 * point + 1])))
        }
    }

    private func points(of shape: [Float]) -> [Point] {
        (0..<(shape.count / 2)).map { Point(x: Double(shape[2 * $0]), y: Double(shape[2 * $0 + 1])) }
    }
}

/// An integer pixel position.
public struct PixelPoint: Sendable, Equatable, Codable {
    public var x: Int
    public var y: Int

    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}

/// Gray values `(R + G + B) / 3` (truncated) read on demand; 0 outside the image.
private struct GrayLookup {
    let image: RGBImage

    init(_ image: RGBImage) {
        self.image = image
    }

    func value(x: Int, y: Int) -> Float {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return 0 }
        let offset = (y * image.width + x) * 3
        let sum = Int(image.pixels[offset]) + Int(image.pixels[offset + 1]) + Int(image.pixels[offset + 2])
        return Float(sum / 3)
    }
}
