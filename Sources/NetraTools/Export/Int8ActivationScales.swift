import Foundation
import NetraStore
import NetraVision

/// The input range of every convolution of the two networks, recorded by running the float32
/// models over face photos: what int8 export turns into activation scales (`maximum / 255`
/// where the input never goes below zero).
///
/// NETRA commits one such file (`Resources/int8-activation-scales.json`, made by
/// `scripts/derive_int8_scales.sh` from face photos shipped in PyPI packages, none of them test
/// photos), so that `netra models fetch` and `netra export --format int8` build the same int8
/// bundle on every machine without calibration photos. The file also says where its ranges
/// came from.
package struct Int8ActivationScales: Codable, Sendable, Equatable {
    /// One convolution's recorded input range; `layer` is its index in the network's layer list.
    package struct Layer: Codable, Sendable, Equatable {
        package var layer: Int
        package var minimum: Float
        package var maximum: Float
    }

    /// One calibration photo: its path below the calibration folder (which names the package it
    /// came from), its SHA-256 and how many faces were found in it.
    package struct Photo: Codable, Sendable, Equatable {
        package var file: String
        package var sha256: String
        package var faces: Int
    }

    /// What the ranges were derived from, for whoever audits or regenerates them.
    package struct Provenance: Codable, Sendable, Equatable {
        package var description: String
        package var command: String
        package var createdAt: String
        /// The float32 model files the networks were read from: file name to SHA-256.
        package var models: [String: String]
        package var photos: [Photo]
        package var faces: Int

        enum CodingKeys: String, CodingKey {
            case description, command, models, photos, faces
            case createdAt = "created_at"
        }
    }

    package var provenance: Provenance
    package var detector: [Layer]
    package var embedder: [Layer]

    /// The scales of a calibration run over photos, with what it was run on.
    package init(recording: Int8Quantization.Recording, models: [String: String], command: String,
                 description: String = "int8 activation ranges: the input range of each convolution (by layer index) of dlib's "
                     + "float32 networks over the faces of the photos listed, detected, aligned and embedded as NETRA serves them. "
                     + "NETRA's committed file is made by scripts/derive_int8_scales.sh from face photos that PyPI packages ship, "
                     + "each photo's first folder naming its package and version; none is a test photo",
                 createdAt: String = ISO8601DateFormatter().string(from: Date())) {
        provenance = Provenance(description: description, command: command, createdAt: createdAt, models: models,
                                photos: recording.photos, faces: recording.faces)
        detector = Self.layers(recording.detector)
        embedder = Self.layers(recording.embedder)
    }

    /// The committed file's name, in NetraTools' resources and in a bundle's `built_from`.
    package static let resourceName = "int8-activation-scales.json"

    /// The committed file in NetraTools' resource bundle beside the executable
    /// (`ExecutableResources`, never a crash when it cannot be resolved), else where
    /// `Bundle.module` finds it (macOS).
    package static var committedFile: URL? {
        let url = ExecutableResources.url(inBundle: "netra_NetraTools", path: "Resources/\(resourceName)")
            ?? Bundle.module.url(forResource: "Resources/\(resourceName)", withExtension: nil)
        guard let url, FileManager.default.isReadableFile(atPath: url.path) else { return nil }
        return url
    }

    /// Reads a scales file; every failure names it.
    package static func read(from url: URL) throws(VisionError) -> Int8ActivationScales {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .invalidModel(file: url.path, reason: "it cannot be read")
        }
        do {
            return try JSONDecoder().decode(Int8ActivationScales.self, from: data)
        } catch {
            throw .invalidModel(file: url.path, reason: "it is not an int8 activation-scales file: \(error)")
        }
    }

    /// The committed scales and their file's SHA-256.
    package static func committed() throws(VisionError) -> (scales: Int8ActivationScales, sha256: String) {
        guard let url = committedFile else {
            throw .invalidModel(file: resourceName, reason: "it is missing from NETRA's resources (netra_NetraTools.resources beside the binary)")
        }
        let scales = try read(from: url)
        guard let digest = try? SHA256Digest.hex(ofFileAt: url) else { throw .invalidModel(file: url.path, reason: "it cannot be read") }
        return (scales, digest)
    }

    /// The scales' identity: the SHA-256 (hex) of their canonical form, the ranges alone (the
    /// detector's layers, then the embedder's, each as its index in a little-endian `Int64` and
    /// its minimum and maximum as little-endian float32 bit patterns), so that two files with the
    /// same ranges but other provenance (dates, photo lists) quantize alike and share it.
    package func canonicalSHA256() throws(VisionError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity((detector.count + embedder.count + 2) * 16)
        for network in [detector, embedder] {
            withUnsafeBytes(of: Int64(network.count).littleEndian) { bytes += $0 }
            for layer in network {
                withUnsafeBytes(of: Int64(layer.layer).littleEndian) { bytes += $0 }
                withUnsafeBytes(of: layer.minimum.bitPattern.littleEndian) { bytes += $0 }
                withUnsafeBytes(of: layer.maximum.bitPattern.littleEndian) { bytes += $0 }
            }
        }
        guard let digest = try? SHA256Digest.hex(of: bytes) else {
            throw .invalidInput("the SHA-256 of the int8 activation scales cannot be computed")
        }
        return digest
    }

    /// The model version of an int8 bundle quantized with these scales from the float32 model
    /// `baseModelVersion`: `<base>-int8-<first 12 hex of canonicalSHA256()>`, so that int8 builds
    /// from different scales never share a version (faces of another version are never searched).
    package func int8ModelVersion(baseModelVersion: String) throws(VisionError) -> String {
        baseModelVersion + "-int8-" + (try canonicalSHA256()).prefix(12)
    }

    /// The file's bytes: sorted keys and one layer per line, so that a regenerated file diffs well.
    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// The recorded ranges of one network, as the quantizer takes them.
    static func ranges(_ layers: [Layer]) -> [Int: ActivationRecorder.Range] {
        Dictionary(layers.map { ($0.layer, ActivationRecorder.Range.recorded(minimum: $0.minimum, maximum: $0.maximum)) }) { first, _ in first }
    }

    /// The ranges of a recorder, in layer order.
    static func layers(_ ranges: [Int: ActivationRecorder.Range]) -> [Layer] {
        ranges.keys.sorted().map { Layer(layer: $0, minimum: ranges[$0]!.minimum, maximum: ranges[$0]!.maximum) }
    }
}
