import NetraImaging
import NetraTestSupport
import Testing

@Suite("Decoding the golden images")
struct GoldenImageDecodingTests {
    @Test("decodes to the documented size and reports whether the pixels match the reference decoder",
          arguments: SharedData.goldenImageNames)
    func decodesGoldenImage(name: String) throws {
        let record = try SharedData.goldenRecord(name)
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(record.file))
        #expect(image.width == record.width)
        #expect(image.height == record.height)
        let md5 = TestDigest.md5(image.pixels)
        print("decoded_rgb_md5 \(record.file): \(md5 == record.decodedRGBMD5 ? "matches" : "differs (\(md5) vs \(record.decodedRGBMD5))")")
    }

    @Test("PNG decoding is lossless and matches the reference buffer exactly")
    func pngMatchesReferenceBuffer() throws {
        let record = try SharedData.goldenRecord("astronaut")
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(record.file))
        #expect(TestDigest.md5(image.pixels) == record.decodedRGBMD5)
    }
}
