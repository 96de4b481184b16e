import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraTestSupport
import Testing

@Suite("Subject names, metadata and bodies: bad input is a 4xx, good input comes back as sent", .tags(.unit))
struct SubjectInputTests {
    @Test("a name longer than 200 code points (though fewer letters) or with a control character is a 400, never a 500", .offCooperativePool)
    func names() async throws {
        let accented = String(repeating: "e\u{0301}", count: 150)
        try await ServiceFixture().test { client in
            for name in [accented, "Ada\u{0}Lovelace", "tab\there"] {
                try await client.execute(uri: "/api/v1/subjects", method: .post, headers: jsonHeaders, body: Body.json(["name": name])) { response in
                    #expect(response.status == .badRequest, "\(name.unicodeScalars.count) code points")
                    #expect(response.errorCode == "invalid_field")
                    let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(!message.localizedCaseInsensitiveContains("sql") && !message.contains("CHECK"))
                }
            }
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: jsonHeaders,
                                     body: Body.json(["name": String(repeating: "e\u{0301}", count: 100)])) { response in
                #expect(response.status == .created)
            }
        }
    }

    @Test("metadata comes back as sent: booleans stay booleans, numbers numbers, keys unchanged", .offCooperativePool)
    func metadataRoundTrip() async throws {
        try await ServiceFixture().test { client in
            let metadata: [String: Any] = ["active": true, "retired": false, "badgeNumber": 7, "ratio": 0.5, "tags": ["a"]]
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: jsonHeaders,
                                     body: Body.json(["name": "Ada", "metadata": metadata])) { response in
                #expect(response.status == .created)
                let back = try #require(response.json["metadata"] as? [String: Any])
                let text = String(buffer: response.body)
                #expect(text.contains(#""active":true"#) && text.contains(#""retired":false"#))
                #expect(back["badgeNumber"] as? Int == 7 && back["ratio"] as? Double == 0.5)
            }
        }
    }

    @Test("a subject body over 64 KB is a 413 naming the limit", .offCooperativePool)
    func oversizedBody() async throws {
        try await ServiceFixture().test { client in
            let body = Body.json(["name": "Ada", "metadata": ["note": String(repeating: "x", count: 70_000)]])
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: jsonHeaders, body: body) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.errorCode == "body_too_large")
            }
        }
    }
}
