import Foundation
import NetraImaging
import NetraTestSupport
import Testing

@Suite("Hostile and broken inputs are rejected with a clear error", .tags(.unit))
struct HostileInputTests {
    let decoder = ImageDecoder()

    @Test("empty data", .offCooperativePool)
    func empty() {
        #expect(throws: ImageDecodingError.empty) { try decoder.decode([UInt8]()) }
    }

    @Test("random bytes are not an image", .offCooperativePool)
    func randomBytes() {
        var generator = SplitMix64(seed: 7)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(throws: ImageDecodingError.unrecognizedFormat) { try decoder.decode(noise) }
    }

    @Test("a text file named .jpg is recognised by its content, not its name", .offCooperativePool)
    func textNamedJPEG() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netra-\(UUID().uuidString).jpg")
        try Data("this is not a picture\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: ImageDecodingError.self) { try decoder.decode(contentsOf: url) }
        #expect(error == .unrecognizedFormat)
        #expect(error?.description == "not a JPEG or PNG image")
    }

    @Test("JPEG truncated at any point", .offCooperativePool, arguments: [3, 20, 300, 2_000, 100_000, 279_000])
    func truncatedJPEG(length: Int) throws {
        let obama = try SharedData.goldenImageBytes("obama.jpg")
        let error = #expect(throws: ImageDecodingError.self) { try decoder.decode(Array(obama.prefix(length))) }
        #expect(error == .truncated(.jpeg))
        #expect(error?.description == "JPEG data is truncated")
    }

    @Test("PNG truncated inside its image data", .offCooperativePool)
    func truncatedPNG() throws {
        let astronaut = try SharedData.goldenImageBytes("astronaut.png")
        #expect(throws: ImageDecodingError.truncated(.png)) { try decoder.decode(Array(astronaut.prefix(astronaut.count / 2))) }
    }

    @Test("a JPEG header claiming 50000 x 50000 is rejected before decoding", .offCooperativePool)
    func hugeJPEGHeader() throws {
        var jpeg = try Fixture.bytes("baseline.jpg")
        let frame = try #require(Self.offset(ofMarker: 0xC0, in: jpeg))
        jpeg.replaceSubrange((frame + 5)..<(frame + 9), with: [0xC3, 0x50, 0xC3, 0x50])
        let error = #expect(throws: ImageDecodingError.self) { try decoder.decode(jpeg) }
        #expect(error == .tooManyPixels(width: 50_000, height: 50_000, limit: 40_000_000))
        #expect(error?.description == "image is 50000 x 50000 pixels, the limit is 40 megapixels")
    }

    @Test("a PNG header claiming 50000 x 50000 (a pixel bomb) is rejected before decoding", .offCooperativePool)
    func hugePNGHeader() throws {
        var png = try Fixture.bytes("rgb8.png")
        png.replaceSubrange(16..<24, with: [0, 0, 0xC3, 0x50, 0, 0, 0xC3, 0x50])
        png.replaceSubrange(29..<33, with: HostileImages.crc32(Array(png[12..<29])))
        #expect(throws: ImageDecodingError.tooManyPixels(width: 50_000, height: 50_000, limit: 40_000_000)) {
            try decoder.decode(png)
        }
    }

    @Test("a PNG whose header checksum is wrong", .offCooperativePool)
    func badCRC() throws {
        var png = try Fixture.bytes("rgb8.png")
        png[30] ^= 0xFF
        let error = #expect(throws: ImageDecodingError.self) { try decoder.decode(png) }
        guard case let .corrupt(format, detail) = error else {
            Issue.record("expected a corrupt-PNG error, got \(String(describing: error))")
            return
        }
        #expect(format == .png)
        #expect(detail.contains("CRC"))
    }

    @Test("garbage after a JPEG signature", .offCooperativePool)
    func garbageAfterSignature() {
        var generator = SplitMix64(seed: 11)
        let data: [UInt8] = [0xFF, 0xD8, 0xFF] + (0..<2000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(throws: ImageDecodingError.self) { try decoder.decode(data) }
    }

    @Test("the encoded-size limit applies to memory and to files, before reading", .offCooperativePool)
    func encodedSizeLimit() throws {
        let small = ImageDecoder(limits: DecodingLimits(maxEncodedBytes: 100, maxPixels: 40_000_000))
        let jpeg = try Fixture.bytes("baseline.jpg")
        #expect(throws: ImageDecodingError.encodedSizeTooLarge(bytes: jpeg.count, limit: 100)) { try small.decode(jpeg) }
        let url = SharedData.golden.appendingPathComponent("images/biden.jpg")
        #expect(throws: ImageDecodingError.encodedSizeTooLarge(bytes: 353_723, limit: 100)) { try small.decode(contentsOf: url) }
    }

    @Test("the pixel limit is configurable", .offCooperativePool)
    func pixelLimit() throws {
        let tiny = ImageDecoder(limits: DecodingLimits(maxEncodedBytes: 1 << 20, maxPixels: 500))
        #expect(throws: ImageDecodingError.tooManyPixels(width: 32, height: 16, limit: 500)) {
            try tiny.decode(Fixture.bytes("rgb8.png"))
        }
    }

    @Test("a missing file names the path", .offCooperativePool)
    func missingFile() {
        let error = #expect(throws: ImageDecodingError.self) {
            try decoder.decode(contentsOf: URL(fileURLWithPath: "/nonexistent/face.jpg"))
        }
        #expect(error?.description.hasPrefix("cannot read /nonexistent/face.jpg") == true)
    }

    @Test("randomly damaged JPEGs and PNGs never crash the decoder", .offCooperativePool)
    func damagedBytes() throws {
        var generator = SplitMix64(seed: 2024)
        for name in ["baseline.jpg", "progressive.jpg", "rgb8_interlaced.png", "palette.png"] {
            let original = try Fixture.bytes(name)
            for _ in 0..<150 {
                var damaged = original
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    damaged[Int.random(in: 3..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                do {
                    let image = try decoder.decode(damaged)
                    #expect(image.pixels.count == image.width * image.height * 3)
                } catch {
                    #expect(!error.description.isEmpty)
                }
            }
        }
    }

    /// Offset of the first `FF <marker>` segment in a JPEG.
    static func offset(ofMarker marker: UInt8, in jpeg: [UInt8]) -> Int? {
        var offset = 2
        while offset + 4 <= jpeg.count, jpeg[offset] == 0xFF {
            if jpeg[offset + 1] == marker { return offset }
            offset += 2 + (Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3]))
        }
        return nil
    }
}

/// A small seeded generator so random tests are repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
