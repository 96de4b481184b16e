import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraService
import NetraStore
import NetraTestSupport
import Testing

/// The console's server side: its pages' headers, sign-in sessions, CSRF, and the admin routes
/// it uses. The real-browser tests (`scripts/console_browser.py`) drive the same through Chromium.
@Suite("Console sessions and admin routes", .tags(.unit))
struct ConsoleEndpointTests {
    static let keyField = HTTPField.Name("X-API-Key")!
    static let csrfField = HTTPField.Name("X-CSRF-Token")!
    static let cookieField = HTTPField.Name("Cookie")!
    static let originField = HTTPField.Name("Origin")!

    /// A signed-in console: its cookie header value and CSRF token.
    struct Session {
        let cookie: String
        let csrf: String
    }

    static func signIn(_ client: any TestClientProtocol, key: String) async throws -> Session {
        try await client.execute(uri: "/api/v1/console/session", method: .post, headers: jsonHeaders, body: Body.json(["api_key": key])) { response in
            #expect(response.status == .created)
            let setCookie = try #require(response.headers[.setCookie])
            return Session(cookie: String(try #require(setCookie.split(separator: ";").first)), csrf: try #require(response.json["csrf_token"] as? String))
        }
    }

    @Test("the console's pages carry a strict CSP and no framing; / redirects to the console", .offCooperativePool)
    func pageHeaders() async throws {
        let fixture = try ServiceFixture()
        try await fixture.test { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/console/")
            }
            try await client.execute(uri: "/console/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                let policy = try #require(response.headers[.contentSecurityPolicy])
                #expect(policy.contains("default-src 'self'") && policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
                #expect(policy.contains("frame-ancestors 'none'"))
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(String(buffer: response.body).contains("<script type=\"module\""))
            }
            try await client.execute(uri: "/console/no-such-file.js", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/console/../openapi.yaml", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/console/js", method: .get) { response in
                #expect(response.status.code / 100 == 3)
                #expect(response.headers[.location] == "/console/js/", "a folder's redirect stays under /console")
            }
            try await client.execute(uri: "/console//js", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.location] == nil)
            }
            try await client.execute(uri: "/console/js/app.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy] != nil)
            }
        }
    }

    @Test("a key is exchanged for an HttpOnly SameSite=Strict session; changes need its CSRF token; sign-out ends it", .offCooperativePool)
    func sessions() async throws {
        let fixture = try ServiceFixture { $0.requireAPIKey = true }
        let manager = try fixture.store.createAPIKey(name: "reception", scopes: [.recognize, .manage]).key
        try await fixture.test { client in
            try await client.execute(uri: "/api/v1/console/session", method: .get) { response in
                #expect(response.json["signed_in"] as? Bool == false)
                #expect(response.json["key_required"] as? Bool == true)
            }
            try await client.execute(uri: "/api/v1/console/session", method: .post, headers: jsonHeaders, body: Body.json(["api_key": "netra_nope_nope"])) {
                #expect($0.status == .unauthorized)
                #expect($0.errorCode == "invalid_api_key")
                #expect($0.headers[.setCookie] == nil)
            }
            try await client.execute(uri: "/api/v1/console/session", method: .post, headers: jsonHeaders, body: Body.json(["api_key": manager])) { response in
                let cookie = try #require(response.headers[.setCookie])
                #expect(cookie.hasPrefix("netra_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
                #expect(!String(buffer: response.body).contains(manager), "the key is not echoed")
                #expect(response.json["scopes"] as? [String] == ["recognize", "manage"])
            }
            let session = try await Self.signIn(client, key: manager)
            let signedIn: HTTPFields = [Self.cookieField: session.cookie]
            try await client.execute(uri: "/api/v1/console/session", method: .get, headers: signedIn) { response in
                #expect(response.json["signed_in"] as? Bool == true)
                #expect((response.json["key"] as? [String: Any])?["name"] as? String == "reception")
            }
            try await client.execute(uri: "/api/v1/subjects", method: .get, headers: signedIn) { #expect($0.status == .ok) }
            var change = signedIn
            change[.contentType] = "application/json"
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: change, body: Body.json(["name": "Ada"])) {
                #expect($0.status == .forbidden)
                #expect($0.errorCode == "csrf_token_invalid")
            }
            for method in [HTTPRequest.Method.patch, .delete] {
                try await client.execute(uri: "/api/v1/subjects/1", method: method, headers: change, body: Body.json(["name": "Ada"])) {
                    #expect($0.errorCode == "csrf_token_invalid", "\(method)")
                }
            }
            change[Self.csrfField] = String(repeating: "0", count: 64)
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: change, body: Body.json(["name": "Ada"])) {
                #expect($0.errorCode == "csrf_token_invalid")
            }
            change[Self.csrfField] = session.csrf
            change[Self.originField] = "http://elsewhere.example"
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: change, body: Body.json(["name": "Ada"])) {
                #expect($0.errorCode == "cross_origin_write")
            }
            change[Self.originField] = nil
            try await client.execute(uri: "/api/v1/subjects", method: .post, headers: change, body: Body.json(["name": "Ada"])) {
                #expect($0.status == .created)
            }
            let audit = try fixture.store.auditLog(limit: 5)
            #expect(audit.contains { $0.actor.hasPrefix("console key:") && $0.action == "create_subject" }, "\(audit.map(\.actor))")
            try await client.execute(uri: "/api/v1/collections", method: .get, headers: signedIn) {
                #expect($0.errorCode == "insufficient_scope", "the session has the key's scopes, no more")
            }
            try await client.execute(uri: "/api/v1/console/session", method: .delete, headers: signedIn) { #expect($0.errorCode == "csrf_token_invalid") }
            var signOut = signedIn
            signOut[Self.csrfField] = session.csrf
            try await client.execute(uri: "/api/v1/console/session", method: .delete, headers: signOut) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            let actions = try fixture.store.auditLog(limit: 20).filter { $0.actor.hasPrefix("console key:") }.map(\.action)
            #expect(actions.contains("console sign-in") && actions.contains("console sign-out"), "\(actions)")
            try await client.execute(uri: "/api/v1/subjects", method: .get, headers: signedIn) { response in
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "session_ended")
            }
        }
    }

    @Test("a sign-in posted by another site is refused, and revoking a key ends its sessions", .offCooperativePool)
    func crossSiteSignInAndRevocation() async throws {
        let fixture = try ServiceFixture { $0.requireAPIKey = true }
        let admin = try fixture.store.createAPIKey(name: "admin", scopes: [.admin]).key
        let (doorKey, door) = try fixture.store.createAPIKey(name: "door", scopes: [.recognize])
        try await fixture.test { client in
            var headers = jsonHeaders
            headers[Self.originField] = "http://evil.example"
            try await client.execute(uri: "/api/v1/console/session", method: .post, headers: headers, body: Body.json(["api_key": doorKey])) {
                #expect($0.errorCode == "cross_origin_write")
            }
            // Behind a proxy that rewrites Host, the browser's Sec-Fetch-Site decides alone.
            headers[HTTPField.Name("Sec-Fetch-Site")!] = "same-origin"
            try await client.execute(uri: "/api/v1/console/session", method: .post, headers: headers, body: Body.json(["api_key": doorKey])) {
                #expect($0.status == .created)
            }
            headers[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            headers[Self.originField] = nil
            try await client.execute(uri: "/api/v1/console/session", method: .post, headers: headers, body: Body.json(["api_key": doorKey])) {
                #expect($0.errorCode == "cross_origin_write")
            }
            let session = try await Self.signIn(client, key: doorKey)
            try await client.execute(uri: "/api/v1/info", method: .get, headers: [Self.cookieField: session.cookie]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/apikeys/\(door.id)", method: .delete, headers: [Self.keyField: admin]) { response in
                #expect(response.json["revoked"] as? String == door.id)
            }
            try await client.execute(uri: "/api/v1/info", method: .get, headers: [Self.cookieField: session.cookie]) {
                #expect($0.status == .unauthorized)
                #expect($0.errorCode == "session_ended")
            }
        }
    }

    @Test("admin routes: API keys created (shown once), listed without secrets, revoked; the audit log; info; all admin-only", .offCooperativePool)
    func adminRoutes() async throws {
        let fixture = try ServiceFixture { $0.requireAPIKey = true; $0.modelVersion = "test-model"; $0.thresholdSource = "model.threshold" }
        let admin = try fixture.store.createAPIKey(name: "admin", scopes: [.admin]).key
        let manager = try fixture.store.createAPIKey(name: "manager", scopes: [.manage, .recognize]).key
        let lobby = try fixture.store.createCollection(name: "lobby")
        let boundAdmin = try fixture.store.createAPIKey(name: "lobby admin", scopes: [.admin], collectionID: lobby.id).key
        try await fixture.test { client in
            var headers = jsonHeaders
            headers[Self.keyField] = admin
            let created = try await client.execute(uri: "/api/v1/apikeys", method: .post, headers: headers,
                                                   body: Body.json(["name": "gate", "scopes": ["recognize"], "collection": "lobby"])) { response in
                #expect(response.status == .created)
                let key = try #require(response.json["key"] as? String)
                let record = try #require(response.json["api_key"] as? [String: Any])
                #expect(record["collection"] as? String == "lobby" && record["scopes"] as? [String] == ["recognize"])
                return (key, try #require(record["id"] as? String))
            }
            #expect(try fixture.store.authenticateAPIKey(created.0)?.collectionID == lobby.id)
            for (body, code) in [(["name": "x"], "missing_field"), (["name": "x", "scopes": ["root"]], "invalid_field"),
                                 (["name": " ", "scopes": ["admin"]], "invalid_field"), (["name": "x", "scopes": ["admin"], "collection": 3], "invalid_field")] as [([String: Any], String)] {
                try await client.execute(uri: "/api/v1/apikeys", method: .post, headers: headers, body: Body.json(body)) {
                    #expect($0.status == .badRequest && $0.errorCode == code, "\(body)")
                }
            }
            try await client.execute(uri: "/api/v1/apikeys", method: .get, headers: [Self.keyField: admin]) { response in
                let keys = try #require(response.json["api_keys"] as? [[String: Any]])
                #expect(Set(keys.compactMap { $0["name"] as? String }) == ["admin", "manager", "lobby admin", "gate"])
                #expect(!String(buffer: response.body).contains(created.0))
            }
            try await client.execute(uri: "/api/v1/apikeys/\(created.1)", method: .delete, headers: [Self.keyField: admin]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/apikeys/\(created.1)", method: .delete, headers: [Self.keyField: admin]) {
                #expect($0.errorCode == "api_key_not_found")
            }
            try await client.execute(uri: "/api/v1/audit?limit=3", method: .get, headers: [Self.keyField: admin]) { response in
                let events = try #require(response.json["events"] as? [[String: Any]])
                #expect(events.count == 3)
                #expect(events.first?["action"] as? String == "revoke_api_key")
            }
            try await client.execute(uri: "/api/v1/audit?limit=0", method: .get, headers: [Self.keyField: admin]) { #expect($0.errorCode == "invalid_parameter") }
            for uri in ["/api/v1/apikeys", "/api/v1/audit"] {
                try await client.execute(uri: uri, method: .get, headers: [Self.keyField: manager]) { #expect($0.errorCode == "insufficient_scope", "\(uri)") }
                try await client.execute(uri: uri, method: .get, headers: [Self.keyField: boundAdmin]) { #expect($0.errorCode == "collection_not_allowed", "\(uri)") }
            }
            try await client.execute(uri: "/api/v1/info", method: .get, headers: [Self.keyField: manager]) { response in
                #expect(response.json["model_version"] as? String == "test-model")
                #expect(response.json["threshold_source"] as? String == "model.threshold")
                #expect(response.json["subject_count"] as? Int == 0)
                #expect((response.json["liveness"] as? [String: Any])?["required_for_enroll"] as? Bool == false)
            }
        }
    }
}
