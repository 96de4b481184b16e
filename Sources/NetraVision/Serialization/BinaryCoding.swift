/// Little-endian writing of the numbers and arrays NETRA's own model files hold.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append(_ value: UInt8) { bytes.append(value) }

    mutating func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }

    mutating func append(_ value: Int) { append(UInt32(value)) }

    mutating func append(_ value: Double) { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }

    mutating func append(_ values: [Float], as precision: WeightPrecision) {
        append(precision.rawValue)
        append(values.count)
        switch precision {
        case .float32:
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        case .float16:
            for value in values { withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { bytes += $0 } }
        }
    }

    mutating func append(_ values: [Int8]) {
        append(values.count)
        bytes += values.map { UInt8(bitPattern: $0) }
    }

    mutating func append(_ raw: [UInt8]) { bytes += raw }
}

/// How a weight array is stored: float32 as computed, or float16 for half the size (widened
/// to float32 when loaded).
enum WeightPrecision: UInt8, Sendable {
    case float32 = 0
    case float16 = 1
}

/// Bounds-checked little-endian reading; every failure says where and what was expected.
struct BinaryReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    struct Failure: Error, CustomStringConvertible {
        let offset: Int
        let message: String
        var description: String { "\(message) at byte \(offset)" }
    }

    func failure(_ message: String) -> Failure { Failure(offset: offset, message: message) }

    mutating func take(_ count: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw failure("the data ends early") }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func byte() throws(Failure) -> UInt8 { try take(1).first! }

    mutating func uint32() throws(Failure) -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func int() throws(Failure) -> Int { Int(try uint32()) }

    /// A count or size that must lie in `range`, so that nothing later multiplies or
    /// allocates its way into trouble with a hostile value.
    mutating func int(in range: ClosedRange<Int>, _ what: String) throws(Failure) -> Int {
        let value = try int()
        guard range.contains(value) else { throw failure("\(what) \(value) is outside \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    mutating func double() throws(Failure) -> Double {
        Double(bitPattern: try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) })
    }

    mutating func floats() throws(Failure) -> [Float] {
        guard let precision = WeightPrecision(rawValue: try byte()) else { throw failure("unknown weight precision") }
        let count = try int()
        switch precision {
        case .float32:
            let raw = try take(4 * count)
            return raw.withUnsafeBytes { buffer in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
        case .float16:
            let raw = try take(2 * count)
            return raw.withUnsafeBytes { buffer in
                (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
            }
        }
    }

    mutating func int8s() throws(Failure) -> [Int8] {
        let count = try int()
        return try take(count).map { Int8(bitPattern: $0) }
    }
}
