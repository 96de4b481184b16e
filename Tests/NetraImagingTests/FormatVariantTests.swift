import NetraImaging
import NetraTestSupport
import Testing

@Suite("PNG and JPEG variants decode to 8-bit RGB", .tags(.unit))
struct FormatVariantTests {
    @Test("colour PNGs keep their exact colours; alpha is dropped, 16-bit keeps the high byte", .offCooperativePool,
          arguments: ["rgb8.png", "rgba8.png", "palette.png", "rgb16.png", "rgb8_interlaced.png"])
    func colorPNG(name: String) throws {
        let image = try ImageDecoder().decode(Fixture.bytes(name))
        #expect(image.width == Fixture.width && image.height == Fixture.height)
        #expect(Fixture.quadrantCenters(of: image) == Fixture.quadrantColors)
    }

    @Test("gray PNGs become equal R, G and B", .offCooperativePool, arguments: ["gray8.png", "gray_alpha8.png", "gray16.png"])
    func grayPNG(name: String) throws {
        let image = try ImageDecoder().decode(Fixture.bytes(name))
        let expected = Fixture.quadrantGrays.map { RGBPixel(red: $0, green: $0, blue: $0) }
        #expect(Fixture.quadrantCenters(of: image) == expected)
    }

    @Test("1-bit gray PNG expands to black and white", .offCooperativePool)
    func oneBitPNG() throws {
        let image = try ImageDecoder().decode(Fixture.bytes("gray1.png"))
        let white = RGBPixel(red: 255, green: 255, blue: 255), black = RGBPixel(red: 0, green: 0, blue: 0)
        #expect(Fixture.quadrantCenters(of: image) == [white, black, black, white])
    }

    @Test("baseline, progressive and CMYK JPEGs decode to their colours within JPEG loss", .offCooperativePool,
          arguments: ["baseline.jpg", "progressive.jpg", "cmyk.jpg"])
    func colorJPEG(name: String) throws {
        let image = try ImageDecoder().decode(Fixture.bytes(name))
        #expect(image.width == Fixture.width && image.height == Fixture.height)
        for (actual, expected) in zip(Fixture.quadrantCenters(of: image), Fixture.quadrantColors) {
            #expect(Fixture.isClose(actual, expected, tolerance: 6), "\(actual) should be close to \(expected)")
        }
    }

    @Test("grayscale JPEG becomes equal R, G and B", .offCooperativePool)
    func grayJPEG() throws {
        let image = try ImageDecoder().decode(Fixture.bytes("gray.jpg"))
        for (actual, gray) in zip(Fixture.quadrantCenters(of: image), Fixture.quadrantGrays) {
            #expect(actual.red == actual.green && actual.green == actual.blue)
            #expect(abs(Int(actual.red) - Int(gray)) <= 3)
        }
    }
}
