/// Hand-made hostile images for the decoder and service tests.
public enum HostileImages {
    /// A PNG signature and a valid IHDR chunk declaring `width` x `height` RGB pixels, and nothing more.
    public static func pngHeader(width: UInt32, height: UInt32) -> [UInt8] {
        func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        let chunk = Array("IHDR".utf8) + bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + bigEndian(13) + chunk + crc32(chunk)
    }

    /// PNG's chunk checksum (CRC-32) of `bytes`, big-endian.
    public static func crc32(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    }

    /// A grey RGB PNG of `width` x `height` whose compressed stream goes on after the last
    /// scanline: a fixed-Huffman deflate block repeating zeros, inflating to about
    /// `trailingBytes` (258 bytes for every 13 bits, near deflate's best ratio).
    public static func pngWithTrailingBomb(width: UInt32, height: UInt32, trailingBytes: Int) -> [UInt8] {
        let matches = trailingBytes / 258
        var bits = BitWriter()
        bits.write(0, count: 1)
        bits.write(1, count: 2)
        bits.writeCode(0x30, length: 8)
        for _ in 0..<matches {
            bits.writeCode(0b1100_0101, length: 8)
            bits.writeCode(0, length: 5)
        }
        bits.writeCode(0, length: 7)
        bits.write(1, count: 1)
        bits.write(1, count: 2)
        bits.writeCode(0, length: 7)
        return greyPNG(width: width, height: height, finalBlock: false, trailingZeros: 1 + 258 * matches, trailingDeflate: bits.flushed)
    }

    /// A complete, valid grey RGB PNG of `width` x `height` (its pixels in one stored, i.e.
    /// uncompressed, deflate block; at most 65535 bytes of scanlines).
    public static func greyPNG(width: UInt32, height: UInt32) -> [UInt8] {
        greyPNG(width: width, height: height, finalBlock: true, trailingZeros: 0, trailingDeflate: [])
    }

    /// The grey PNG, its stored block followed by `trailingDeflate`, which inflates to
    /// `trailingZeros` zero bytes (counted in the stream's checksum).
    private static func greyPNG(width: UInt32, height: UInt32, finalBlock: Bool, trailingZeros: Int,
                                trailingDeflate: [UInt8]) -> [UInt8] {
        func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return bigEndian(UInt32(data.count)) + body + crc32(body)
        }
        let scanlines = (0..<height).flatMap { _ in [0] + [UInt8](repeating: 128, count: Int(width) * 3) }
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in scanlines { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        b = UInt32((UInt64(b) + UInt64(trailingZeros) % 65521 * UInt64(a)) % 65521)
        let length = UInt16(scanlines.count)
        let zlib: [UInt8] = [0x78, 0x01, finalBlock ? 0x01 : 0x00, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            + scanlines + trailingDeflate + bigEndian(b << 16 | a)
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", zlib) + chunk("IEND", [])
    }
}

/// Deflate's bit order: fields least significant bit first, Huffman codes most significant first.
private struct BitWriter {
    var bytes: [UInt8] = []
    private var current: UInt8 = 0
    private var used = 0

    mutating func write(_ value: UInt32, count: Int) {
        for index in 0..<count { push(UInt8((value >> index) & 1)) }
    }

    mutating func writeCode(_ code: UInt32, length: Int) {
        for index in stride(from: length - 1, through: 0, by: -1) { push(UInt8((code >> index) & 1)) }
    }

    private mutating func push(_ bit: UInt8) {
        current |= bit << used
        used += 1
        if used == 8 {
            bytes.append(current)
            (current, used) = (0, 0)
        }
    }

    /// The bytes written, the last one padded with zero bits.
    var flushed: [UInt8] { used == 0 ? bytes : bytes + [current] }
}
