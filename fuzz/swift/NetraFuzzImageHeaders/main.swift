// libFuzzer harness for NETRA's own image-header parsing (built by scripts/fuzz with
// NETRA_FUZZ=1; see docs/fuzzing.md): `ImageHeader.dimensions`, `ExifOrientation.read`, and the
// whole `ImageDecoder.decode` path that uses them (format sniffing, the header pre-check against
// the pixel limit, the codec, turning the result upright). Any input must end in a value or an
// `ImageDecodingError`; a Swift trap (overflow, out-of-range index) is a crash.
@testable import NetraImaging

/// Limits small enough that libFuzzer's -rss_limit_mb=1024 is never reached by a legitimate decode.
private let decoder = ImageDecoder(limits: DecodingLimits(maxPixels: 4_000_000, maxScans: 100, maxCPUSeconds: 1))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageHeaders(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    for format in ImageFormat.allCases {
        _ = ImageHeader.dimensions(of: data, format: format)
    }
    _ = ExifOrientation.read(fromJPEG: data)
    _ = try? decoder.decode(data)
    return 0
}

// MARK: Entry point
// SwiftPM links an executable target with `--defsym main=NetraFuzzImageHeaders_main` (its entry point is
// renamed so that tests can link the module), so `main` is this function, not libFuzzer's; it
// starts libFuzzer's driver with the usual command line.

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("NetraFuzzImageHeaders_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv, fuzzImageHeaders)
}
