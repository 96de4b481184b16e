import Foundation
import NetraImaging
import Testing

/// The small pictures written by `Fixtures/make_fixtures.py`: 32 x 16 pixels, four quadrants
/// of known colour.
enum Fixture {
    static let width = 32
    static let height = 16
    /// Top-left, top-right, bottom-left, bottom-right.
    static let quadrantColors = [
        RGBPixel(red: 200, green: 30, blue: 40), RGBPixel(red: 20, green: 180, blue: 60),
        RGBPixel(red: 30, green: 40, blue: 210), RGBPixel(red: 250, green: 250, blue: 250),
    ]
    static let quadrantGrays: [UInt8] = [50, 100, 150, 200]

    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return [UInt8](try Data(contentsOf: url))
    }

    /// The colour at the centre of each quadrant, in the fixtures' order.
    static func quadrantCenters(of image: RGBImage) -> [RGBPixel] {
        let (w, h) = (image.width, image.height)
        return [image[w / 4, h / 4], image[3 * w / 4, h / 4], image[w / 4, 3 * h / 4], image[3 * w / 4, 3 * h / 4]]
    }

    static func isClose(_ a: RGBPixel, _ b: RGBPixel, tolerance: Int) -> Bool {
        abs(Int(a.red) - Int(b.red)) <= tolerance && abs(Int(a.green) - Int(b.green)) <= tolerance
            && abs(Int(a.blue) - Int(b.blue)) <= tolerance
    }
}
