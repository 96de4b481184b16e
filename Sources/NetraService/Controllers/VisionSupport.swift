import Foundation
import Metrics
import Hummingbird
import NetraImaging
import NetraVision

/// Decoding and analysing request images with HTTP errors a client can act on.
struct ImageAnalysis: Sendable {
    let decoder: ImageDecoder

    /// The decoded image of field `field`; undecodable input is a 4xx naming the field.
    func decode(_ bytes: [UInt8], field: String) throws -> RGBImage {
        do {
            return try decoder.decode(bytes)
        } catch {
            let code: String, status: HTTPResponse.Status
            switch error {
            case .empty: (status, code) = (.badRequest, "empty_file")
            case .encodedSizeTooLarge: (status, code) = (.contentTooLarge, "image_file_too_large")
            case .tooManyPixels: (status, code) = (.unprocessableContent, "image_too_large")
            case .unrecognizedFormat: (status, code) = (.unprocessableContent, "not_an_image")
            case .truncated: (status, code) = (.unprocessableContent, "truncated_image")
            case .corrupt, .unreadableFile, .outOfMemory: (status, code) = (.unprocessableContent, "invalid_image")
            }
            throw APIError(status, code, "\(field): \(error)")
        }
    }

    /// The largest face of an image expected to show one, or 422 `no_face` naming the field.
    func largestFace(_ image: RGBImage, field: String, analyzer: FaceAnalyzer, options: DetectionOptions) throws -> AnalyzedFace {
        let detections = try ServiceMetrics.detectDuration.measure { try analyzer.detectFacesExpectingOne(in: image, options: options) }
        guard let largest = detections.max(by: { $0.rect.area < $1.rect.area }) else {
            throw APIError.unprocessable("no_face", "no face found in \(field)")
        }
        return try ServiceMetrics.embedDuration.measure { try analyzer.describe(largest, in: image) }
    }

    /// Every face of an image, detected (retrying a small image at double resolution, see
    /// `FaceAnalyzer.detectFacesExpectingOne`) and described, timed separately for the metrics.
    func allFaces(_ image: RGBImage, analyzer: FaceAnalyzer, options: DetectionOptions) throws -> [AnalyzedFace] {
        let detections = try ServiceMetrics.detectDuration.measure { try analyzer.detectFacesExpectingOne(in: image, options: options) }
        return try detections.map { detection in
            try ServiceMetrics.embedDuration.measure { try analyzer.describe(detection, in: image) }
        }
    }
}

/// Milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return (Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15).rounded(toPlaces: 2)
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}

extension Timer {
    /// Records how long `body` takes.
    func measure<T>(_ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return try body()
    }
}
