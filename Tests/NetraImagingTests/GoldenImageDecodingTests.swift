import NetraImaging
import NetraTestSupport
import Testing

@Suite("Decoding the golden images", .tags(.unit))
struct GoldenImageDecodingTests {
    @Test("decodes to the documented size and exactly the reference decoder's pixels (libjpeg-turbo, libpng)", .offCooperativePool,
          arguments: SharedData.goldenImageNames)
    func decodesGoldenImage(name: String) throws {
        let record = try SharedData.goldenRecord(name)
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(record.file))
        #expect(image.width == record.width)
        #expect(image.height == record.height)
        #expect(TestDigest.md5(image.pixels) == record.decodedRGBMD5, "\(record.file) decodes to other pixels than dlib's reference run")
    }

    @Test("PNG decoding is lossless and matches the reference buffer exactly", .offCooperativePool)
    func pngMatchesReferenceBuffer() throws {
        let record = try SharedData.goldenRecord("astronaut")
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(record.file))
        #expect(TestDigest.md5(image.pixels) == record.decodedRGBMD5)
    }
}
