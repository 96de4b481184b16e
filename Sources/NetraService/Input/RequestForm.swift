import Foundation
import Hummingbird
import MultipartKit

/// The fields of a request, from `multipart/form-data` or from a JSON object whose image
/// fields hold base64 (for clients without multipart). Image bytes stay in memory only.
struct RequestForm {
    private(set) var fields: [String: String] = [:]
    private(set) var files: [String: [UInt8]] = [:]

    /// Reads the body (at most `limit` bytes, else 413) and parses it by its content type.
    static func read(_ request: Request, limit: Int, imageFields: Set<String>) async throws -> RequestForm {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than \(limit) bytes")
        }
        let contentType = request.headers[.contentType] ?? ""
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            return try parseMultipart(body, contentType: contentType)
        }
        if contentType.lowercased().hasPrefix("application/json") {
            return try parseJSON(body, imageFields: imageFields)
        }
        throw APIError(.unsupportedMediaType, "unsupported_content_type",
                       "send multipart/form-data or application/json (with base64 images), not '\(contentType)'")
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

    func bool(_ name: String) throws -> Bool {
        switch fields[name]?.lowercased() {
        case nil, "", "false", "0", "no": return false
        case "true", "1", "yes": return true
        default: throw APIError.badRequest("invalid_field", "'\(name)' must be true or false")
        }
    }

    // MARK: Parsing

    private static func parseMultipart(_ body: ByteBuffer, contentType: String) throws -> RequestForm {
        guard let boundary = parameter("boundary", in: contentType) else {
            throw APIError.badRequest("invalid_multipart", "the multipart content type has no boundary")
        }
        var form = RequestForm()
        var name: String?, isFile = false
        var data = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { field, value in
            guard field.lowercased() == "content-disposition" else { return }
            name = parameter("name", in: value)
            isFile = parameter("filename", in: value) != nil
        }
        parser.onBody = { chunk in data.writeBuffer(&chunk) }
        parser.onPartComplete = {
            if let name {
                if isFile {
                    form.files[name] = data.readBytes(length: data.readableBytes) ?? []
                } else {
                    form.fields[name] = data.readString(length: data.readableBytes) ?? ""
                }
            }
            name = nil
            isFile = false
            data.clear()
        }
        do {
            try parser.execute(body)
        } catch {
            throw APIError.badRequest("invalid_multipart", "the multipart body cannot be parsed")
        }
        return form
    }

    private static func parseJSON(_ body: ByteBuffer, imageFields: Set<String>) throws -> RequestForm {
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

    /// `key=value` or `key="value"` from a header value such as `form-data; name="image1"`.
    static func parameter(_ key: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            return pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
        }
        return nil
    }
}
