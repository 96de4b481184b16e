import NetraImaging
import NetraTestSupport
import Testing

@Suite("EXIF orientation", .tags(.unit))
struct ExifOrientationTests {
    /// Which stored quadrant (0 TL, 1 TR, 2 BL, 3 BR) shows at each displayed corner, from the
    /// EXIF specification's description of each orientation.
    static let displayedQuadrants: [(ExifOrientation, [Int])] = [
        (.up, [0, 1, 2, 3]), (.upMirrored, [1, 0, 3, 2]), (.down, [3, 2, 1, 0]), (.downMirrored, [2, 3, 0, 1]),
        (.leftMirrored, [0, 2, 1, 3]), (.right, [2, 0, 3, 1]), (.rightMirrored, [3, 1, 2, 0]), (.left, [1, 3, 0, 2]),
    ]

    @Test("each orientation turns the picture upright", .offCooperativePool, arguments: 0..<8)
    func appliesOrientation(index: Int) throws {
        let (orientation, quadrants) = Self.displayedQuadrants[index]
        for byteOrder in [ExifBlock.ByteOrder.little, .big] {
            let jpeg = ExifBlock.inserting(orientation: orientation.rawValue, byteOrder: byteOrder,
                                           into: try Fixture.bytes("baseline.jpg"))
            #expect(ExifOrientation.read(fromJPEG: jpeg) == orientation)
            let image = try ImageDecoder().decode(jpeg)
            let (width, height) = orientation.swapsDimensions ? (Fixture.height, Fixture.width) : (Fixture.width, Fixture.height)
            #expect(image.width == width && image.height == height)
            for (actual, quadrant) in zip(Fixture.quadrantCenters(of: image), quadrants) {
                #expect(Fixture.isClose(actual, Fixture.quadrantColors[quadrant], tolerance: 6),
                        "\(orientation): \(actual) should show quadrant \(quadrant)")
            }
        }
    }

    @Test("a damaged or out-of-range EXIF block leaves the image as stored", .offCooperativePool)
    func ignoresBrokenExif() throws {
        let baseline = try Fixture.bytes("baseline.jpg")
        let outOfRange = ExifBlock.inserting(orientation: 9, byteOrder: .little, into: baseline)
        var damaged = ExifBlock.inserting(orientation: 6, byteOrder: .little, into: baseline)
        damaged[2 + 4 + 6 + 4] = 0xEE  // the IFD offset now points outside the block
        for jpeg in [outOfRange, damaged] {
            #expect(ExifOrientation.read(fromJPEG: jpeg) == .up)
            let image = try ImageDecoder().decode(jpeg)
            #expect(image.width == Fixture.width && image.height == Fixture.height)
        }
    }
}

/// Builds the APP1 segment a camera writes: "Exif\0\0", a TIFF header and IFD0 holding only the
/// orientation tag, inserted right after the JPEG's SOI marker.
enum ExifBlock {
    enum ByteOrder { case little, big }

    static func inserting(orientation: Int, byteOrder: ByteOrder, into jpeg: [UInt8]) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] {
            byteOrder == .little ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)]
        }
        func u32(_ value: Int) -> [UInt8] {
            byteOrder == .little ? u16(value & 0xFFFF) + u16(value >> 16) : u16(value >> 16) + u16(value & 0xFFFF)
        }
        let tiff = (byteOrder == .little ? [0x49, 0x49] : [0x4D, 0x4D]) + u16(42) + u32(8)
            + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0) + u32(0)
        let payload = Array("Exif\0\0".utf8) + tiff
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }
}
