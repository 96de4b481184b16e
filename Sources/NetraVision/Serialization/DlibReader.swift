/// Reads dlib's serialization primitives (`dlib/serialize.h`): compact integers, portable
/// floats, strings, tensors and matrices, with no padding or alignment.
///
/// Every read is bounds-checked; a damaged file gives a `DlibFormatError` with the offset.
struct DlibReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(DlibFormatError) -> UInt8 {
        guard offset < bytes.count else { throw error("unexpected end of file") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A compact integer: a control byte (payload length, sign bit) then the magnitude, little-endian.
    mutating func int() throws(DlibFormatError) -> Int {
        let control = try byte()
        let length = Int(control & 0x0F)
        guard (1...8).contains(length) else { throw error("bad integer control byte \(control)") }
        guard offset + length <= bytes.count else { throw error("unexpected end of file") }
        var magnitude: UInt64 = 0
        for index in 0..<length {
            magnitude |= UInt64(bytes[offset + index]) << (8 * UInt64(index))
        }
        offset += length
        guard magnitude <= UInt64(Int.max) else { throw error("integer out of range") }
        return control & 0x80 != 0 ? -Int(magnitude) : Int(magnitude)
    }

    /// A non-negative compact integer no larger than `limit` (a count or a size).
    mutating func count(atMost limit: Int = 1 << 28) throws(DlibFormatError) -> Int {
        let value = try int()
        guard (0...limit).contains(value) else { throw error("count \(value) out of range") }
        return value
    }

    /// A portable float: mantissa and exponent as compact integers.
    mutating func double() throws(DlibFormatError) -> Double {
        guard offset < bytes.count, bytes[offset] & 0x70 == 0 else { throw error("unsupported float encoding") }
        let mantissa = try int()
        let exponent = try int()
        switch exponent {
        case 32000: return .infinity
        case 32001: return -.infinity
        case 32002: return .nan
        default:
            guard abs(exponent) < 2000 else { throw error("float exponent out of range") }
            return Double(sign: mantissa < 0 ? .minus : .plus, exponent: exponent, significand: Double(mantissa.magnitude))
        }
    }

    mutating func float() throws(DlibFormatError) -> Float {
        Float(try double())
    }

    mutating func bool() throws(DlibFormatError) -> Bool {
        switch try byte() {
        case UInt8(ascii: "1"): return true
        case UInt8(ascii: "0"): return false
        default: throw error("bad bool")
        }
    }

    mutating func string() throws(DlibFormatError) -> String {
        let length = try count(atMost: 1 << 16)
        guard offset + length <= bytes.count else { throw error("unexpected end of file") }
        defer { offset += length }
        return String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
    }

    /// Reads a string and checks it is one of `allowed`.
    @discardableResult
    mutating func expect(_ allowed: String...) throws(DlibFormatError) -> String {
        let start = offset
        let value = try string()
        guard allowed.contains(value) else {
            throw DlibFormatError(offset: start, message: "expected \(allowed.joined(separator: " or ")), found '\(value.prefix(40))'")
        }
        return value
    }

    /// A `resizable_tensor`: version 2, four dimensions, then raw little-endian float32 data.
    mutating func tensor() throws(DlibFormatError) -> [Float] {
        guard try int() == 2 else { throw error("unsupported tensor version") }
        var elements = 1
        for _ in 0..<4 {
            let (product, overflow) = elements.multipliedReportingOverflow(by: try count())
            guard !overflow, product <= 1 << 28 else { throw error("tensor too large") }
            elements = product
        }
        guard offset + elements * 4 <= bytes.count else { throw error("unexpected end of file in tensor data") }
        var values = [Float](repeating: 0, count: elements)
        values.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + elements * 4)]))
            }
        }
        offset += elements * 4
        return values.map { Float(bitPattern: $0.bitPattern.littleEndian) }
    }

    /// An `alias_tensor` shape: version 1 and four dimensions.
    mutating func aliasShape() throws(DlibFormatError) -> [Int] {
        guard try int() == 1 else { throw error("unsupported alias_tensor version") }
        return [try count(), try count(), try count(), try count()]
    }

    /// A `dlib::matrix<float>` as a flat row-major array.
    mutating func floatMatrix() throws(DlibFormatError) -> [Float] {
        let rows = abs(try int()), columns = abs(try int())
        guard rows * columns <= 1 << 20 else { throw error("matrix too large") }
        var values: [Float] = []
        values.reserveCapacity(rows * columns)
        for _ in 0..<(rows * columns) { values.append(try float()) }
        return values
    }

    func error(_ message: String) -> DlibFormatError {
        DlibFormatError(offset: offset, message: message)
    }
}

/// A model file that does not follow dlib's format or the expected network.
public struct DlibFormatError: Error, Equatable, CustomStringConvertible {
    public let offset: Int
    public let message: String

    public var description: String { "\(message) at byte \(offset)" }
}
