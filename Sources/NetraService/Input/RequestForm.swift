import Foundation
import Hummingbird
import MultipartKit
import NetraIdentity

/// The fields of a request, from `multipart/form-data`, from a JSON object whose image
/// fields hold base64 (for clients without multipart), or, when a route accepts it, from an
/// urlencoded form (text only). Image bytes stay in memory only.
struct RequestForm {
    private(set) var fields: [String: String] = [:]
    private(set) var files: [String: [UInt8]] = [:]

    /// Which parts of a multipart form are images: those named in `imageFields`, and with
    /// `filesByFilename` every part sent as a file (with a `filename`), whatever its name
    /// (DeepStack's register and match take any field names).
    struct ImageParts: Sendable {
        var names: Set<String>
        var filesByFilename = false
    }

    /// Reads the body through `bodies` (at most `limit` bytes, else 413) and parses it by its
    /// content type; `application/x-www-form-urlencoded` only when `urlencoded` is allowed.
    static func read(_ request: Request, from caller: String, bodies: BodyReader, limit: Int,
                     imageFields: Set<String>, filesByFilename: Bool = false, urlencoded: Bool = false) async throws -> RequestForm {
        let body = try await bodies.collect(request, from: caller, limit: limit)
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = mediaType(of: request)
        if mediaType == "multipart/form-data" {
            guard let boundary = parameter("boundary", in: contentType) else {
                throw APIError.badRequest("invalid_multipart", "the multipart content type has no boundary")
            }
            return try parseMultipart(body, boundary: boundary, imageParts: ImageParts(names: imageFields, filesByFilename: filesByFilename))
        }
        if mediaType == "application/json" {
            return try parseJSON(body, imageFields: imageFields)
        }
        if urlencoded, mediaType == "application/x-www-form-urlencoded" || (mediaType == nil && body.readableBytes == 0) {
            var form = RequestForm()
            form.fields = urlencodedPairs(String(buffer: body))
            return form
        }
        throw APIError(.unsupportedMediaType, "unsupported_content_type",
                       "send multipart/form-data or application/json (with base64 images), not '\(contentType)'")
    }

    /// The content type's media type, lower-cased, without parameters.
    static func mediaType(of request: Request) -> String? {
        (request.headers[.contentType] ?? "").split(separator: ";", maxSplits: 1).first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// The pairs of an urlencoded form or query string (`+` and `%XX` decoded), skipping empty
    /// pairs such as the CompreFace SDK's leading `&`; the last of a repeated name wins.
    static func urlencodedPairs(_ text: String) -> [String: String] {
        func decoded(_ text: Substring) -> String? { String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        var pairs: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decoded(parts[0]), !name.isEmpty else { continue }
            pairs[name] = parts.count > 1 ? decoded(parts[1]) ?? "" : ""
        }
        return pairs
    }

    /// The bytes of a required image field.
    func image(_ name: String) throws -> [UInt8] {
        guard let bytes = files[name] else {
            throw APIError.badRequest("missing_field", "the image field '\(name)' is missing")
        }
        guard !bytes.isEmpty else { throw APIError.badRequest("empty_file", "the image field '\(name)' is empty") }
        return bytes
    }

    func string(_ name: String) -> String? { fields[name] }

    /// Whether the form has an image field of this name.
    func hasImage(_ name: String) -> Bool { files[name] != nil }

    func float(_ name: String, in range: ClosedRange<Float>) throws -> Float? {
        guard let text = fields[name], !text.isEmpty else { return nil }
        guard let value = Float(text), range.contains(value) else {
            throw APIError.badRequest("invalid_field", "'\(name)' must be a number between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = fields[name], !text.isEmpty else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("invalid_field", "'\(name)' must be a whole number between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// `face`: which face stands for the image (`largest`, `centre` or `center`).
    func faceChoice(_ name: String) throws -> FaceChoice? {
        guard let text = fields[name], !text.isEmpty else { return nil }
        guard let choice = FaceChoice(parsing: text) else {
            throw APIError.badRequest("invalid_field", "'\(name)' must be largest or centre")
        }
        return choice
    }

    func bool(_ name: String, default defaultValue: Bool = false) throws -> Bool {
        switch fields[name]?.lowercased() {
        case nil, "": return defaultValue
        case "false", "0", "no": return false
        case "true", "1", "yes": return true
        default: throw APIError.badRequest("invalid_field", "'\(name)' must be true or false")
        }
    }

    // MARK: Parsing

    /// Decodes the parts with MultipartKit's `FormDataDecoder`: the parts named in
    /// `imageFields` are kept as bytes, the others as text.
    package static func parseMultipart(_ body: ByteBuffer, boundary: String, imageFields: Set<String>) throws -> RequestForm {
        try parseMultipart(body, boundary: boundary, imageParts: ImageParts(names: imageFields))
    }

    static func parseMultipart(_ body: ByteBuffer, boundary: String, imageParts: ImageParts) throws -> RequestForm {
        // MultipartKit 4.7.1 traps (ending the process) on an empty boundary and on a part
        // header name with a byte above 0x7F; both are refused here first (found by fuzzing).
        guard (1...70).contains(boundary.utf8.count) else {
            throw APIError.badRequest("invalid_multipart", "the multipart boundary must have 1 to 70 characters")
        }
        switch precheck(Data(buffer: body), boundary: boundary) {
        case .acceptable: break
        case .nonASCIIHeaderName: throw APIError.badRequest("invalid_multipart", "a multipart part header name is not ASCII")
        case .tooManyParts:
            throw APIError.badRequest("too_many_parts", "a form has at most \(maxParts) parts")
        }
        let parts: [String: FormPart]
        do {
            parts = try FormDataDecoder().decode([String: FormPart].self, from: body, boundary: boundary)
        } catch {
            throw APIError.badRequest("invalid_multipart", "the multipart body cannot be parsed")
        }
        var form = RequestForm()
        for (name, part) in parts {
            var bytes = part.body
            if imageParts.names.contains(name) || (imageParts.filesByFilename && part.isFile) {
                form.files[name] = bytes.readBytes(length: bytes.readableBytes) ?? []
            } else {
                form.fields[name] = bytes.readString(length: bytes.readableBytes) ?? ""
            }
        }
        return form
    }

    package static func parseJSON(_ body: ByteBuffer, imageFields: Set<String>) throws -> RequestForm {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw APIError.badRequest("invalid_json", "the body is not a JSON object")
        }
        var form = RequestForm()
        for (key, value) in object {
            if imageFields.contains(key) {
                guard let text = value as? String else {
                    throw APIError.badRequest("invalid_field", "'\(key)' must be a base64 string")
                }
                let payload = text.hasPrefix("data:") ? String(text.drop { $0 != "," }.dropFirst()) : text
                guard let bytes = Data(base64Encoded: payload, options: .ignoreUnknownCharacters) else {
                    throw APIError.badRequest("invalid_base64", "'\(key)' is not valid base64")
                }
                form.files[key] = [UInt8](bytes)
            } else if let text = value as? String {
                form.fields[key] = text
            } else if let number = value as? NSNumber {
                form.fields[key] = number.stringValue
            }
        }
        return form
    }

    /// Parts a form may have: NETRA's forms have at most a handful, and MultipartKit 4.7.1
    /// copies the form for every part (quadratic in their number).
    static let maxParts = 32

    enum Precheck {
        case acceptable, nonASCIIHeaderName, tooManyParts
    }

    /// What MultipartKit must not see: more than `maxParts` delimiters, or a part header name
    /// (the text before `:` on the lines between a delimiter and the empty line) that is not
    /// ASCII, as RFC 7578 requires.
    static func precheck(_ body: Data, boundary: String) -> Precheck {
        let delimiter = Data("--\(boundary)".utf8)
        let lineEnd = Data("\r\n".utf8)
        var searchFrom = body.startIndex
        var delimiters = 0
        while let found = body.range(of: delimiter, in: searchFrom..<body.endIndex) {
            searchFrom = found.upperBound
            delimiters += 1
            if delimiters > maxParts + 1 { return .tooManyParts }
            guard let headersStart = body.range(of: lineEnd, in: found.upperBound..<body.endIndex)?.upperBound else { return .acceptable }
            // Header lines up to the empty one; the last may lack its line end (the parser
            // reads a name byte by byte, so an unfinished line counts too).
            var lineStart = headersStart
            while lineStart < body.endIndex {
                let end = body.range(of: lineEnd, in: lineStart..<body.endIndex)
                let line = body[lineStart..<(end?.lowerBound ?? body.endIndex)]
                if line.isEmpty { break }
                if line.prefix(while: { $0 != UInt8(ascii: ":") }).contains(where: { $0 >= 0x80 }) { return .nonASCIIHeaderName }
                guard let end else { return .acceptable }
                lineStart = end.upperBound
            }
            searchFrom = max(searchFrom, lineStart)
        }
        return .acceptable
    }

    /// `key=value` or `key="value"` from a header value such as `multipart/form-data; boundary=x`
    /// (any order of parameters, names in any case).
    static func parameter(_ key: String, in header: String) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            return pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
        }
        return nil
    }
}

/// One part of a multipart form as its raw bytes: an image or a text field.
struct FormPart: Decodable, MultipartPartConvertible {
    let body: ByteBuffer
    /// Whether the part was sent as a file (its `Content-Disposition` has a `filename`).
    var isFile = false

    init?(multipart: MultipartPart) {
        body = multipart.body
        isFile = multipart.headers.first(name: "Content-Disposition").map { RequestForm.parameter("filename", in: $0) != nil } ?? false
    }

    var multipart: MultipartPart? { MultipartPart(body: body) }

    /// Outside multipart forms a part can only be text.
    init(from decoder: Decoder) throws {
        body = ByteBuffer(string: try decoder.singleValueContainer().decode(String.self))
    }
}
