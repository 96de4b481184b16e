// libFuzzer harness for NETRA's request parsing (built by scripts/fuzz with NETRA_FUZZ=1; see
// docs/fuzzing.md): the Content-Type `boundary` parameter, multipart/form-data bodies (through
// MultipartKit), JSON bodies with base64 images, the typed field accessors, and the Host check.
//
// Input layout, HTTP-like so that seeds are readable:
//
//     <Content-Type value>\n
//     <Host value>\n          (zero or more lines: the request's authorities)
//     \n
//     <body>
//
// This is what `RequestForm.read` does after collecting the body: a multipart media type needs
// a boundary parameter, anything else is parsed as JSON here (the service answers 415 before
// parsing it). Bad input must end in an `APIError`; a Swift trap is a crash.
import NIOCore
@testable import NetraService

private let imageFields: Set<String> = ["image", "image1", "image2"]
private let newline = UInt8(ascii: "\n")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestForms(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))

    // Header lines up to the first empty line; the rest is the body.
    var lines: [String] = []
    var position = 0
    while position < data.count {
        let end = data[position...].firstIndex(of: newline) ?? data.count
        var line = data[position..<end]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        position = end + 1
        if line.isEmpty { break }
        lines.append(String(decoding: line, as: UTF8.self))
    }
    let contentType = lines.first ?? ""
    let body = ByteBuffer(bytes: data[min(position, data.count)...])

    _ = SecurityMiddleware.host(ofAuthorities: Array(lines.dropFirst()))

    let mediaType = contentType.split(separator: ";", maxSplits: 1).first
        .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    let form: RequestForm
    do {
        if mediaType == "multipart/form-data" {
            guard let boundary = RequestForm.parameter("boundary", in: contentType) else { return 0 }
            form = try RequestForm.parseMultipart(body, boundary: boundary, imageFields: imageFields)
        } else {
            form = try RequestForm.parseJSON(body, imageFields: imageFields)
        }
    } catch is APIError {
        return 0
    } catch {
        fatalError("RequestForm threw \(type(of: error)), not an APIError: \(error)")
    }

    // What the controllers then read from a form.
    for name in imageFields { _ = try? form.image(name) }
    _ = form.string("name")
    _ = form.string("subject_id")
    _ = try? form.float("threshold", in: 0...1)
    _ = try? form.integer("top_k", in: 1...100)
    _ = try? form.integer("min_face", in: 1...10_000)
    _ = try? form.faceChoice("face")
    _ = try? form.bool("unique_subjects", default: true)
    return 0
}

// MARK: Entry point
// SwiftPM links an executable target with `--defsym main=NetraFuzzRequestForms_main` (its entry point is
// renamed so that tests can link the module), so `main` is this function, not libFuzzer's; it
// starts libFuzzer's driver with the usual command line.

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("NetraFuzzRequestForms_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv, fuzzRequestForms)
}
