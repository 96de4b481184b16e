import Foundation
import GRDB
import NetraDescriptor
@testable import NetraStore

/// Deterministic pseudo-random unit-ish vectors.
struct VectorGenerator {
    var state: UInt64

    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
    }

    mutating func descriptor() -> FaceDescriptor {
        let values = (0..<128).map { _ in next() * 0.15 }
        return FaceDescriptor(values: values)
    }
}

let quality = FaceQuality(width: 120, height: 120, detectorConfidence: 0.9)
