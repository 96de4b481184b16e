/// The EXIF orientation tag (0x0112): how a camera's stored pixels must be turned to show the
/// scene upright. Phones store portrait photos sideways and set this tag; detectors expect
/// upright faces, so the decoder applies it.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1
    case upMirrored = 2
    case down = 3
    case downMirrored = 4
    case leftMirrored = 5
    case right = 6
    case rightMirrored = 7
    case left = 8

    /// Whether the upright image has width and height swapped relative to the stored one.
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// The orientation recorded in a JPEG's EXIF segment; `.up` when there is none or it is
    /// unreadable (a broken EXIF block must not make a good picture undecodable).
    public static func read(fromJPEG data: [UInt8]) -> ExifOrientation {
        guard let tiff = exifPayload(inJPEG: data),
              let value = orientationValue(inTIFF: tiff),
              let orientation = ExifOrientation(rawValue: value)
        else { return .up }
        return orientation
    }

    /// The TIFF block of the first APP1 "Exif" segment before the image data.
    private static func exifPayload(inJPEG data: [UInt8]) -> ArraySlice<UInt8>? {
        var offset = 2
        while offset + 4 <= data.count, data[offset] == 0xFF {
            let marker = data[offset + 1]
            if marker == 0xFF { offset += 1; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }
            let length = Int(data[offset + 2]) << 8 | Int(data[offset + 3])
            guard length >= 2, offset + 2 + length <= data.count else { return nil }
            let body = data[(offset + 4)..<(offset + 2 + length)]
            if marker == 0xE1, body.starts(with: Array("Exif\0\0".utf8)) {
                return body.dropFirst(6)
            }
            offset += 2 + length
        }
        return nil
    }

    /// Tag 0x0112 of IFD0 in a TIFF block of either byte order.
    private static func orientationValue(inTIFF tiff: ArraySlice<UInt8>) -> Int? {
        let bytes = Array(tiff)
        guard bytes.count >= 8 else { return nil }
        let littleEndian: Bool
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func read16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= bytes.count else { return nil }
            let (a, b) = (Int(bytes[at]), Int(bytes[at + 1]))
            return littleEndian ? a | b << 8 : a << 8 | b
        }
        func read32(_ at: Int) -> Int? {
            guard let low = read16(littleEndian ? at : at + 2),
                  let high = read16(littleEndian ? at + 2 : at) else { return nil }
            return high << 16 | low
        }
        guard read16(2) == 42, let ifd = read32(4), let count = read16(ifd) else { return nil }
        for entry in 0..<count {
            let position = ifd + 2 + entry * 12
            guard let tag = read16(position) else { return nil }
            if tag == 0x0112 {
                guard read16(position + 2) == 3 else { return nil }
                return read16(position + 8)
            }
        }
        return nil
    }
}

extension RGBImage {
    /// This image turned upright according to `orientation`.
    public func applying(_ orientation: ExifOrientation) -> RGBImage {
        if orientation == .up { return self }
        let (outWidth, outHeight) = orientation.swapsDimensions ? (height, width) : (width, height)
        let (w, h) = (width, height)
        var output = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case .up: (sx, sy) = (x, y)
                        case .upMirrored: (sx, sy) = (w - 1 - x, y)
                        case .down: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case .downMirrored: (sx, sy) = (x, h - 1 - y)
                        case .leftMirrored: (sx, sy) = (y, x)
                        case .right: (sx, sy) = (y, h - 1 - x)
                        case .rightMirrored: (sx, sy) = (w - 1 - y, h - 1 - x)
                        case .left: (sx, sy) = (w - 1 - y, x)
                        }
                        let from = (sy * w + sx) * 3
                        let to = (y * outWidth + x) * 3
                        destination[to] = source[from]
                        destination[to + 1] = source[from + 1]
                        destination[to + 2] = source[from + 2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: output)
    }
}
