import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraStore
import NetraTestSupport
import Testing

/// Collections on NETRA's own API: a key bound to one acts only in it, on every route.
@Suite("Collections over HTTP", .tags(.unit))
struct CollectionEndpointTests {
    static let image = Body.image("public/images/face_recognition/test_obama.jpg")
    static let keyField = HTTPField.Name("X-API-Key")!

    @Test("a key bound to a collection never sees, searches or changes another; an unbound key names one; admins manage them", .offCooperativePool)
    func boundKeysStayInTheirCollection() async throws {
        let fixture = try ServiceFixture { $0.requireAPIKey = true }
        let lobby = try fixture.store.createCollection(name: "lobby")
        let vault = try fixture.store.createCollection(name: "vault")
        let lobbyKey = try fixture.store.createAPIKey(name: "lobby", scopes: [.recognize, .manage], collectionID: lobby.id).key
        let vaultKey = try fixture.store.createAPIKey(name: "vault", scopes: [.recognize, .manage], collectionID: vault.id).key
        let admin = try fixture.store.createAPIKey(name: "admin", scopes: [.admin]).key
        // The stub analyzer gives every face the same descriptor: a search that crossed
        // collections would find the other collection's subject at distance 0.
        let vaultSubject = try fixture.store.addFace(toSubjectNamed: "Vault person", in: vault.id, descriptor: StubAnalyzer().descriptor,
                                                     quality: FaceQuality(width: 200, height: 200, detectorConfidence: 0.9))
        try await fixture.test { client in
            func call(_ method: HTTPRequest.Method, _ uri: String, key: String, json: [String: Any]? = nil, form: [String: String]? = nil,
                      _ check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
                var headers: HTTPFields = [Self.keyField: key]
                var body = ByteBuffer()
                if let json { (headers[.contentType], body) = ("application/json", Body.json(json)) }
                if let form { (headers[.contentType], body) = (Body.multipartType, Body.multipart(files: ["image": Self.image], fields: form)) }
                try await client.execute(uri: uri, method: method, headers: headers, body: body) { try check($0) }
            }
            try await call(.post, "/api/v1/enroll", key: lobbyKey, form: ["name": "Lobby person"]) { #expect($0.status == .created) }
            try await call(.post, "/api/v1/identify", key: lobbyKey, form: [:]) { response in
                let names = (response.json["faces"] as? [[String: Any]])?.flatMap { ($0["candidates"] as? [[String: Any]]) ?? [] }.map { $0["name"] as? String }
                #expect(names == ["Lobby person"], "\(response.json)")
            }
            try await call(.get, "/api/v1/subjects", key: lobbyKey) { response in
                #expect((response.json["subjects"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Lobby person"])
                #expect(response.json["total"] as? Int == 1)
            }
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/subjects/\(vaultSubject.subject.id)"),
                                  (.delete, "/api/v1/subjects/\(vaultSubject.subject.id)"),
                                  (.delete, "/api/v1/subjects/\(vaultSubject.subject.id)/faces/\(vaultSubject.face.id)")] {
                try await call(method, uri, key: lobbyKey) { #expect($0.status == .notFound, "\(method) \(uri)") }
            }
            try await call(.patch, "/api/v1/subjects/\(vaultSubject.subject.id)", key: lobbyKey, json: ["name": "Renamed"]) {
                #expect($0.status == .notFound)
            }
            try await call(.post, "/api/v1/subjects/\(vaultSubject.subject.id)/faces", key: lobbyKey, form: [:]) { #expect($0.status == .notFound) }
            try await call(.post, "/api/v1/enroll", key: lobbyKey, form: ["subject_id": "\(vaultSubject.subject.id)"]) {
                #expect($0.status == .notFound)
            }
            try await call(.get, "/api/v1/subjects?collection=vault", key: lobbyKey) { #expect($0.errorCode == "collection_not_allowed") }
            try await call(.post, "/api/v1/identify", key: lobbyKey, form: ["collection": "vault"]) { #expect($0.status == .forbidden) }
            try await call(.get, "/api/v1/subjects", key: vaultKey) { response in
                #expect((response.json["subjects"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Vault person"])
            }
            // An unbound key names a collection, default when it names none.
            try await call(.get, "/api/v1/subjects?collection=lobby", key: admin) { response in
                #expect((response.json["subjects"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Lobby person"])
            }
            try await call(.get, "/api/v1/subjects", key: admin) { #expect(($0.json["subjects"] as? [Any])?.isEmpty == true) }
            try await call(.post, "/api/v1/subjects", key: admin, json: ["name": "Visitor", "collection": "lobby"]) { #expect($0.status == .created) }
            try await call(.get, "/api/v1/subjects?collection=lobby&name=Visitor", key: admin) { #expect($0.json["total"] as? Int == 2) }
            try await call(.get, "/api/v1/subjects?collection=nowhere", key: admin) { #expect($0.errorCode == "collection_not_found") }
            // Collections themselves: admin keys bound to none.
            try await call(.get, "/api/v1/collections", key: lobbyKey) { #expect($0.status == .forbidden) }
            try await call(.post, "/api/v1/collections", key: admin, json: ["name": "garage"]) { response in
                #expect(response.status == .created && response.json["name"] as? String == "garage")
            }
            try await call(.get, "/api/v1/collections", key: admin) { response in
                let listed = (response.json["collections"] as? [[String: Any]])?.map { "\($0["name"] ?? "") \($0["subjects"] ?? "")" }
                #expect(listed == ["default 0", "lobby 2", "vault 1", "garage 0"])
            }
            try await call(.patch, "/api/v1/collections/garage", key: admin, json: ["strict_unknown": false]) { response in
                #expect(response.status == .ok && response.json["strict_unknown"] as? Bool == false)
            }
            try await call(.patch, "/api/v1/collections/garage", key: admin, json: ["strict_unknown": NSNull()]) { response in
                #expect(response.status == .ok && response.json["strict_unknown"] == nil)
            }
            try await call(.patch, "/api/v1/collections/garage", key: admin, json: ["strict_unknown": "no"]) { #expect($0.errorCode == "invalid_field") }
            try await call(.delete, "/api/v1/collections/vault", key: admin) { #expect($0.errorCode == "collection_in_use") }
            try await call(.delete, "/api/v1/collections/garage", key: admin) { #expect($0.status == .ok) }
            try await call(.delete, "/api/v1/collections/default", key: admin) { #expect($0.errorCode == "collection_in_use") }
        }
        #expect(try fixture.store.subject(id: vaultSubject.subject.id)?.name == "Vault person", "nothing of the vault was changed")
    }
}
