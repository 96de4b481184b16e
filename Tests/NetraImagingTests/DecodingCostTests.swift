import Foundation
import NetraImaging
import NetraTestSupport
import Testing

@Suite("Inputs that ask for more work than they are worth are refused before the work", .tags(.unit))
struct DecodingCostTests {
    let decoder = ImageDecoder()

    @Test("a photo cut short and given an end marker is truncated, not grey-padded", .offCooperativePool, arguments: [0.3, 0.6, 0.9])
    func truncatedWithEndMarker(fraction: Double) throws {
        let obama = try SharedData.goldenImageBytes("obama.jpg")
        let cut = Array(obama.prefix(Int(Double(obama.count) * fraction))) + [0xFF, 0xD9]
        #expect(throws: ImageDecodingError.truncated(.jpeg)) { try decoder.decode(cut) }
    }

    @Test("a progressive JPEG ending after a complete scan but before its last one is truncated", .offCooperativePool)
    func progressiveMissingScans() throws {
        let progressive = try Fixture.bytes("progressive.jpg")
        let scans = Self.offsets(of: [0xFF, 0xDA], in: progressive)
        try #require(scans.count >= 3)
        for start in scans.dropFirst() {
            let cut = Array(progressive[..<start]) + [0xFF, 0xD9]
            #expect(Self.failure(decoding: cut) == .truncated(.jpeg), "cut at \(start)")
        }
        #expect(Self.failure(decoding: progressive) == nil)
    }

    @Test("a 600-byte JPEG whose header says 6000 x 6000 is refused before decoding", .offCooperativePool)
    func jpegPixelsBeyondItsBytes() throws {
        var jpeg = try Fixture.bytes("baseline.jpg")
        let frame = try #require(HostileInputTests.offset(ofMarker: 0xC0, in: jpeg))
        jpeg.replaceSubrange((frame + 5)..<(frame + 9), with: [0x17, 0x70, 0x17, 0x70])
        let error = #expect(throws: ImageDecodingError.self) { try decoder.decode(jpeg) }
        #expect(error == .tooCostly(.jpeg, detail: "JPEG declares 6000 x 6000 pixels, more than \(jpeg.count) bytes can encode"))
    }

    @Test("a PNG declaring more pixels than deflate can pack into its bytes is refused", .offCooperativePool)
    func pngPixelsBeyondItsBytes() {
        var png = HostileImages.greyPNG(width: 16, height: 16)
        png.replaceSubrange(16..<24, with: [0, 0, 0x17, 0x70, 0, 0, 0x17, 0x70])
        png.replaceSubrange(29..<33, with: HostileImages.crc32(Array(png[12..<29])))
        #expect(Self.failure(decoding: png) == .tooCostly(.png, detail: "PNG declares 6000 x 6000 pixels, more than \(png.count) bytes can encode"))
    }

    @Test("compressed data going on after the last row (a bomb behind a small image) is refused", .offCooperativePool)
    func pngTrailingBomb() throws {
        let bomb = HostileImages.pngWithTrailingBomb(width: 64, height: 64, trailingBytes: 100_000_000)
        #expect(bomb.count < 1_000_000)
        let error = #expect(throws: ImageDecodingError.self) { try decoder.decode(bomb) }
        #expect(error == .tooCostly(.png, detail: "PNG holds more image data than its pixels need"))
        let honest = HostileImages.pngWithTrailingBomb(width: 64, height: 64, trailingBytes: 0)
        #expect(Self.failure(decoding: honest) == nil)
    }

    @Test("scans are counted before decoding and refused beyond the limit", .offCooperativePool)
    func scanLimit() throws {
        let progressive = try Fixture.bytes("progressive.jpg")
        let scans = Self.offsets(of: [0xFF, 0xDA], in: progressive).count
        let strict = ImageDecoder(limits: DecodingLimits(maxScans: scans - 1))
        let error = #expect(throws: ImageDecodingError.self) { try strict.decode(progressive) }
        #expect(error == .tooCostly(.jpeg, detail: "JPEG has \(scans) scans, the limit is \(scans - 1)"))
        #expect(Self.failure(decoding: progressive, limits: DecodingLimits(maxScans: scans)) == nil)
    }

    @Test("an embedded thumbnail's scan is not counted as the image's", .offCooperativePool, .tags(.unit))
    func thumbnailScanNotCounted() throws {
        let baseline = try Fixture.bytes("baseline.jpg")
        let segment = Array("Exif".utf8) + [0, 0] + baseline
        let app1: [UInt8] = [0xFF, 0xE1, UInt8((segment.count + 2) >> 8), UInt8((segment.count + 2) & 0xFF)] + segment
        let withThumbnail = Array(baseline[..<2]) + app1 + Array(baseline[2...])
        #expect(Self.failure(decoding: withThumbnail, limits: DecodingLimits(maxScans: 1)) == nil)
    }

    @Test("decoding stops once it has spent its CPU budget", .offCooperativePool, arguments: ["obama.jpg", "astronaut.png"])
    func cpuBudget(name: String) throws {
        let bytes = try SharedData.goldenImageBytes(name)
        let hurried = ImageDecoder(limits: DecodingLimits(maxCPUSeconds: 0.000_1))
        let error = #expect(throws: ImageDecodingError.self) { try hurried.decode(bytes) }
        guard case let .tooCostly(_, detail) = error else {
            Issue.record("expected a CPU refusal, got \(String(describing: error))")
            return
        }
        #expect(detail.hasSuffix("needs more than 0.0 s of CPU to decode"))
    }

    @Test("a PNG header of 2^32 - 1 by 2^32 - 1 is refused, not an overflow (found by fuzzing)", .offCooperativePool)
    func headerProductOverflow() {
        let png = HostileImages.pngHeader(width: .max, height: .max)
        #expect(Self.failure(decoding: png) == .tooManyPixels(width: Int(UInt32.max), height: Int(UInt32.max), limit: 40_000_000))
    }

    @Test("a chunk declaring 2 GiB past the end of a 41-byte PNG is truncation, found before libpng allocates it (found by fuzzing)", .offCooperativePool)
    func chunkLengthPastTheEnd() {
        let png = HostileImages.pngHeader(width: 1, height: 1) + [0x7F, 0xFF, 0xFF, 0xFF] + Array("tEXt".utf8)
        #expect(png.count == 41)
        #expect(Self.failure(decoding: png) == .truncated(.png))
    }

    @Test("every public photo still decodes under the default limits", .offCooperativePool)
    func publicPhotosDecode() throws {
        let photos = try FileManager.default.subpathsOfDirectory(atPath: SharedData.faces.path)
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
        #expect(photos.count > 50)
        for photo in photos {
            let url = SharedData.faces.appendingPathComponent(photo)
            #expect(Self.failure(decoding: [UInt8](try Data(contentsOf: url))) == nil, "\(photo)")
        }
    }

    /// Why `bytes` cannot be decoded, or nil when they can (without printing the pixels).
    static func failure(decoding bytes: [UInt8], limits: DecodingLimits = .default) -> ImageDecodingError? {
        do {
            _ = try ImageDecoder(limits: limits).decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// Offsets at which `pattern` starts in `bytes`.
    static func offsets(of pattern: [UInt8], in bytes: [UInt8]) -> [Int] {
        (0...(bytes.count - pattern.count)).filter { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }
}
