import Dispatch
import Foundation
import NetraIdentity
import NetraImaging
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

@Suite("Enrolling under a subject's name", .tags(.unit))
struct EnrollByNameTests {
    /// An image `StubAnalyzer` finds a 200 x 200 face in.
    static let image = RGBImage(width: 400, height: 400, pixels: [UInt8](repeating: 90, count: 400 * 400 * 3))

    /// `StubAnalyzer` with no face at all.
    struct NoFace: FaceAnalyzing {
        func detectFaces(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection] { [] }
        func landmarks(of detection: FaceDetection, in image: RGBImage) -> [PixelPoint] { [] }
        func describe(_ detection: FaceDetection, in image: RGBImage) throws(VisionError) -> AnalyzedFace {
            throw .invalidInput("no face to describe")
        }
    }

    @Test("a refused image under a new name leaves no subject behind", .offCooperativePool)
    func refusedImageCreatesNothing() throws {
        let temporary = try TemporaryStore()
        let store = try temporary.open()
        let enroller = Enroller(finder: FaceFinder(analyzer: NoFace()), store: store, collectionID: SubjectCollection.defaultID)
        #expect {
            _ = try enroller.enroll(Self.image, subject: .named("Ada"))
        } throws: { error in
            guard case let IdentityError.enrollmentRejected(rejection) = error else { return false }
            return rejection == .noFace
        }
        #expect(try store.subjectCount() == 0)
        #expect(try store.auditLog().allSatisfy { $0.action != "create_subject" })
    }

    @Test("concurrent enrollments under one new name make one subject with every face", .offCooperativePool)
    func concurrentNewName() throws {
        let temporary = try TemporaryStore()
        let store = try temporary.open()
        let enroller = Enroller(finder: FaceFinder(analyzer: StubAnalyzer()), store: store, collectionID: SubjectCollection.defaultID)
        let lock = NSLock()
        nonisolated(unsafe) var ids: [Int64] = []
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let subject = try? enroller.enroll(Self.image, subject: .named("Grace")).subject {
                lock.withLock { ids.append(subject.id) }
            }
        }
        #expect(ids.count == 8)
        #expect(Set(ids).count == 1)
        let subjects = try store.subjects(named: "Grace", in: SubjectCollection.defaultID)
        #expect(subjects.count == 1 && subjects.first?.faceCount == 8)
        let next = try enroller.enroll(Self.image, subject: .named("Grace"))
        #expect(next.subject.id == ids[0] && next.subject.faceCount == 9)
    }

    @Test("an enrollment under a name several subjects share is refused, and nothing is stored", .offCooperativePool)
    func ambiguousName() throws {
        let temporary = try TemporaryStore()
        let store = try temporary.open()
        _ = try store.createSubjects(names: ["Twin", "Twin"], in: SubjectCollection.defaultID)
        let enroller = Enroller(finder: FaceFinder(analyzer: StubAnalyzer()), store: store, collectionID: SubjectCollection.defaultID)
        #expect(throws: IdentityError.self) { _ = try enroller.enroll(Self.image, subject: .named("Twin")) }
        #expect(try store.faceCount() == 0)
        #expect(throws: StoreError.ambiguousName("Twin", count: 2)) {
            _ = try store.addFace(toSubjectNamed: "Twin", in: SubjectCollection.defaultID, descriptor: StubAnalyzer().descriptor,
                                  quality: FaceQuality(width: 200, height: 200, detectorConfidence: 0.9))
        }
    }
}
