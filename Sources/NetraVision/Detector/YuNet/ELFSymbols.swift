/// The exported data of an ELF64 little-endian x86-64 shared object, read as plain bytes.
///
/// YuNet's weights ship inside libfacedetection's shared library as exported float arrays,
/// so NETRA reads them from the file instead of loading (and running) the library. This reads
/// only what that needs: the section headers, the dynamic symbol table (`.dynsym` and its
/// string table) and the relocations that fill pointers in the library's data when the
/// dynamic loader would. Every offset, size and count comes from the file and is checked
/// against it: a damaged or hostile file is an `invalidModel` error, never a crash.
struct ELFSymbols {
    /// A dynamic symbol: where it lives once loaded and how many bytes it spans.
    struct Symbol: Equatable {
        var name: String
        var address: UInt64
        var size: UInt64
    }

    private struct Section {
        var type: UInt32
        var flags: UInt64
        var address: UInt64
        var offset: UInt64
        var size: UInt64
        var link: UInt32
        var entrySize: UInt64
    }

    private static let symbolTableType: UInt32 = 11
    private static let relocationsWithAddendType: UInt32 = 4
    private static let noBitsType: UInt32 = 8
    private static let allocatedFlag: UInt64 = 2
    private static let x86_64Machine: UInt16 = 62
    private static let absolute64Relocation: UInt64 = 1
    private static let relativeRelocation: UInt64 = 8

    /// The file's path, for error messages.
    let file: String
    private let bytes: [UInt8]
    private let sections: [Section]
    /// The dynamic symbols in table order (index 0 is the null symbol).
    private let symbolTable: [Symbol]
    private let symbolsByName: [String: Symbol]
    /// The value the dynamic loader writes at an address: from `R_X86_64_64` and `R_X86_64_RELATIVE`.
    private let relocatedPointers: [UInt64: UInt64]

    init(bytes: [UInt8], file: String) throws(VisionError) {
        self.file = file
        self.bytes = bytes
        let invalid = { (reason: String) in VisionError.invalidModel(file: file, reason: reason) }
        guard bytes.count >= 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw invalid("not an ELF file")
        }
        guard bytes[4] == 2, bytes[5] == 1 else { throw invalid("not a 64-bit little-endian ELF file") }
        guard Self.uint16(bytes, 18) == Self.x86_64Machine else { throw invalid("not an x86-64 ELF file") }

        let headerOffset = Self.uint64(bytes, 0x28)!
        let headerSize = UInt64(Self.uint16(bytes, 0x3A)!)
        let headerCount = UInt64(Self.uint16(bytes, 0x3C)!)
        guard headerSize >= 64, headerOffset <= UInt64(bytes.count),
              headerCount * headerSize <= UInt64(bytes.count) - headerOffset
        else {
            throw invalid("its section headers lie outside the file (truncated?)")
        }
        var sections: [Section] = []
        for index in 0..<Int(headerCount) {
            let at = Int(headerOffset) + index * Int(headerSize)
            sections.append(Section(type: Self.uint32(bytes, at + 4)!, flags: Self.uint64(bytes, at + 8)!,
                                    address: Self.uint64(bytes, at + 16)!, offset: Self.uint64(bytes, at + 24)!,
                                    size: Self.uint64(bytes, at + 32)!, link: Self.uint32(bytes, at + 40)!,
                                    entrySize: Self.uint64(bytes, at + 56)!))
        }
        self.sections = sections

        guard let symbolSectionIndex = sections.firstIndex(where: { $0.type == Self.symbolTableType }) else {
            throw invalid("it has no dynamic symbol table")
        }
        let symbolSection = sections[symbolSectionIndex]
        guard let symbolRange = Self.fileRange(of: symbolSection, in: bytes), symbolSection.entrySize == 24,
              Int(symbolSection.link) < sections.count,
              let namesRange = Self.fileRange(of: sections[Int(symbolSection.link)], in: bytes)
        else {
            throw invalid("its dynamic symbol table or symbol names lie outside the file (truncated?)")
        }
        var symbolTable: [Symbol] = []
        var symbolsByName: [String: Symbol] = [:]
        for at in stride(from: symbolRange.lowerBound, to: symbolRange.upperBound - 23, by: 24) {
            let nameOffset = Int(Self.uint32(bytes, at)!)
            guard nameOffset < namesRange.count,
                  let end = bytes[(namesRange.lowerBound + nameOffset)..<namesRange.upperBound].firstIndex(of: 0)
            else {
                throw invalid("a symbol name lies outside the symbol names")
            }
            let name = String(decoding: bytes[(namesRange.lowerBound + nameOffset)..<end], as: UTF8.self)
            let symbol = Symbol(name: name, address: Self.uint64(bytes, at + 8)!, size: Self.uint64(bytes, at + 16)!)
            symbolTable.append(symbol)
            // Only defined symbols (section index not 0) have data in this file.
            if !name.isEmpty, Self.uint16(bytes, at + 6)! != 0 { symbolsByName[name] = symbol }
        }
        self.symbolTable = symbolTable
        self.symbolsByName = symbolsByName

        var relocatedPointers: [UInt64: UInt64] = [:]
        for section in sections where section.type == Self.relocationsWithAddendType && Int(section.link) == symbolSectionIndex {
            guard let range = Self.fileRange(of: section, in: bytes), section.entrySize == 24 else {
                throw invalid("its relocations lie outside the file (truncated?)")
            }
            for at in stride(from: range.lowerBound, to: range.upperBound - 23, by: 24) {
                let address = Self.uint64(bytes, at)!, info = Self.uint64(bytes, at + 8)!
                let addend = Self.uint64(bytes, at + 16)!
                switch info & 0xFFFF_FFFF {
                case Self.relativeRelocation:
                    relocatedPointers[address] = addend
                case Self.absolute64Relocation:
                    let index = info >> 32
                    guard index < UInt64(symbolTable.count) else { throw invalid("a relocation names symbol \(index), which does not exist") }
                    relocatedPointers[address] = symbolTable[Int(index)].address &+ addend
                default:
                    continue
                }
            }
        }
        self.relocatedPointers = relocatedPointers
    }

    /// The defined symbol called `name`.
    func symbol(_ name: String) throws(VisionError) -> Symbol {
        guard let symbol = symbolsByName[name] else { throw .invalidModel(file: file, reason: "it has no symbol \(name)") }
        return symbol
    }

    /// The bytes at `address`...`address + count - 1` as loaded, from the section that holds them.
    func bytes(at address: UInt64, count: UInt64) throws(VisionError) -> ArraySlice<UInt8> {
        for section in sections where section.flags & Self.allocatedFlag != 0 && section.type != Self.noBitsType {
            // A section whose addresses run past 64 bits is damaged: it holds nothing.
            guard !section.address.addingReportingOverflow(section.size).overflow,
                  address >= section.address, address - section.address <= section.size,
                  count <= section.size - (address - section.address)
            else { continue }
            let (offset, overflow) = section.offset.addingReportingOverflow(address - section.address)
            guard !overflow, offset <= UInt64(bytes.count), count <= UInt64(bytes.count) - offset else { break }
            return bytes[Int(offset)..<Int(offset + count)]
        }
        throw .invalidModel(file: file, reason: "no part of the file holds the \(count) bytes at address 0x\(String(address, radix: 16)) (truncated?)")
    }

    /// The bytes of the symbol called `name`.
    func bytes(of name: String) throws(VisionError) -> ArraySlice<UInt8> {
        let symbol = try symbol(name)
        return try bytes(at: symbol.address, count: symbol.size)
    }

    /// The little-endian float32 array the symbol called `name` holds.
    func floats(of name: String) throws(VisionError) -> [Float] {
        let data = try bytes(of: name)
        guard data.count % 4 == 0 else { throw .invalidModel(file: file, reason: "\(name) is not a whole number of floats") }
        return stride(from: data.startIndex, to: data.endIndex, by: 4).map { Float(bitPattern: Self.uint32(data, $0)!) }
    }

    /// The 64-bit pointer stored at `address` once the dynamic loader has relocated it.
    func pointer(at address: UInt64) throws(VisionError) -> UInt64 {
        if let relocated = relocatedPointers[address] { return relocated }
        let stored = try bytes(at: address, count: 8)
        return Self.uint64(stored, stored.startIndex)!
    }

    /// Where a section's contents lie in the file, when they lie inside it.
    private static func fileRange(of section: Section, in bytes: [UInt8]) -> Range<Int>? {
        guard section.offset <= UInt64(bytes.count), section.size <= UInt64(bytes.count) - section.offset else { return nil }
        return Int(section.offset)..<Int(section.offset + section.size)
    }

    private static func uint16<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ at: Int) -> UInt16? where Bytes.Index == Int {
        unsigned(bytes, at, 2).map(UInt16.init)
    }

    private static func uint32<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ at: Int) -> UInt32? where Bytes.Index == Int {
        unsigned(bytes, at, 4).map(UInt32.init)
    }

    private static func uint64<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ at: Int) -> UInt64? where Bytes.Index == Int {
        unsigned(bytes, at, 8)
    }

    /// `count` bytes from index `at` read as a little-endian number, or `nil` past the end.
    private static func unsigned<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ at: Int, _ count: Int) -> UInt64? where Bytes.Index == Int {
        guard at >= bytes.startIndex, at <= bytes.endIndex - count else { return nil }
        var value: UInt64 = 0
        for index in (at..<(at + count)).reversed() { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}
