/// Width and height as declared at the start of an encoded image, read without decoding,
/// so an oversized image is refused before the codec allocates or reads anything more.
enum ImageHeader {
    static func dimensions(of data: [UInt8], format: ImageFormat) -> (width: Int, height: Int)? {
        switch format {
        case .png: pngDimensions(data)
        case .jpeg: jpegDimensions(data)
        }
    }

    /// IHDR is the first chunk: width and height are big-endian at bytes 16 and 20.
    private static func pngDimensions(_ data: [UInt8]) -> (width: Int, height: Int)? {
        guard data.count >= 24, data[12..<16].elementsEqual("IHDR".utf8) else { return nil }
        return (bigEndian(data, at: 16, count: 4), bigEndian(data, at: 20, count: 4))
    }

    /// The first start-of-frame marker (SOF0...SOF15 except DHT, JPG and DAC) holds height, then width.
    private static func jpegDimensions(_ data: [UInt8]) -> (width: Int, height: Int)? {
        var offset = 2
        while offset + 9 <= data.count, data[offset] == 0xFF {
            let marker = data[offset + 1]
            if marker == 0xFF { offset += 1; continue }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (bigEndian(data, at: offset + 7, count: 2), bigEndian(data, at: offset + 5, count: 2))
            }
            if marker == 0xDA || marker == 0xD9 { return nil }
            offset += 2 + bigEndian(data, at: offset + 2, count: 2)
        }
        return nil
    }

    private static func bigEndian(_ data: [UInt8], at offset: Int, count: Int) -> Int {
        data[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
    }
}
