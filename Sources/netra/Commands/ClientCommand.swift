import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `netra client`: the HTTP API from the command line, the seed's example client.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Call a running NETRA service (verify, detect, identify, enroll) and print its JSON answer.",
        subcommands: [Verify.self, Detect.self, Identify.self, Enroll.self]
    )

    struct Connection: ParsableArguments {
        @Option(name: .long, help: "The service's base URL.") var url = "http://localhost:8000"
        @Option(name: .customLong("api-key"), help: "API key (default: $NETRA_API_KEY).") var apiKey: String?

        /// Posts a multipart form and prints the answer; a non-2xx answer is exit 1 with the service's message.
        func post(_ path: String, files: [(String, String)], fields: [(String, String)] = []) async throws {
            guard let endpoint = URL(string: url + path) else {
                throw CommandFailure(message: "\(url) is not a URL", exitCode: .failure)
            }
            let boundary = "netra-\(UUID().uuidString)"
            var body = Data()
            for (name, path) in files {
                guard let bytes = FileManager.default.contents(atPath: path) else {
                    throw CommandFailure(message: "\(path): cannot be read", exitCode: .unreadableImage)
                }
                body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\((path as NSString).lastPathComponent)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
                body += bytes + Data("\r\n".utf8)
            }
            for (name, value) in fields {
                body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
            }
            body += Data("--\(boundary)--\r\n".utf8)
            var request = URLRequest(url: endpoint)
            request.httpMethod = "POST"
            request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
            if let key = apiKey ?? ProcessInfo.processInfo.environment["NETRA_API_KEY"] {
                request.setValue(key, forHTTPHeaderField: "X-API-Key")
            }
            request.httpBody = body
            let (data, response): (Data, URLResponse)
            do {
                (data, response) = try await URLSession.shared.data(for: request)
            } catch {
                throw CommandFailure(message: "cannot reach \(url): \(error.localizedDescription)", exitCode: .failure)
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let text = String(decoding: data, as: UTF8.self)
            guard (200..<300).contains(status) else {
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? text
                throw CommandFailure(message: "HTTP \(status): \(message)", exitCode: .failure)
            }
            print(text)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "POST /api/v1/verify with two images.")
        @OptionGroup var connection: Connection
        @Argument(help: "The first image.") var image1: String
        @Argument(help: "The second image.") var image2: String
        @Option(name: .long, help: "Similarity threshold.") var threshold: Double?
        @Option(name: .long, help: "Which face stands for each image: largest or centre (the service's default: largest).")
        var face: String?

        func run() async throws {
            try await Self.reportingFailures {
                let fields = [threshold.map { ("threshold", "\($0)") }, face.map { ("face", $0) }].compactMap { $0 }
                try await connection.post("/api/v1/verify", files: [("image1", image1), ("image2", image2)], fields: fields)
            }
        }
    }

    struct Detect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "POST /api/v1/detect with an image.")
        @OptionGroup var connection: Connection
        @Argument(help: "The image.") var image: String

        func run() async throws {
            try await Self.reportingFailures { try await connection.post("/api/v1/detect", files: [("image", image)]) }
        }
    }

    struct Identify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "POST /api/v1/identify with an image.")
        @OptionGroup var connection: Connection
        @Argument(help: "The image.") var image: String
        @Option(name: .customLong("top-k"), help: "Candidates per face.") var topK: Int?
        @Flag(inversion: .prefixedNo, help: "Give each subject to at most one face of the image (the service's default).")
        var uniqueSubjects = true

        func run() async throws {
            try await Self.reportingFailures {
                let fields = [topK.map { ("top_k", "\($0)") }, ("unique_subjects", "\(uniqueSubjects)")].compactMap { $0 }
                try await connection.post("/api/v1/identify", files: [("image", image)], fields: fields)
            }
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "POST /api/v1/enroll: add a face for a subject, created by name when needed.")
        @OptionGroup var connection: Connection
        @Option(name: .long, help: "The subject's name.") var name: String
        @Argument(help: "The image.") var image: String

        func run() async throws {
            try await Self.reportingFailures {
                try await connection.post("/api/v1/enroll", files: [("image", image)], fields: [("name", name)])
            }
        }
    }
}
