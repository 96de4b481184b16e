import Foundation
import Logging
import NetraVision

extension ModelInstaller {
    /// The state of the int8 bundle (`dlib-int8.netra`) in the model directory.
    public enum Int8BundleState: Sendable, Equatable {
        /// Built from the installed dlib files and the committed activation scales.
        case current
        case missing
        /// Readable, but built from other model files or another scales file.
        case stale(reason: String)
        /// Not a readable bundle (damaged or altered).
        case damaged(reason: String)
    }

    /// Where the int8 bundle is built: `dlib-int8.netra` in the model directory.
    public var int8BundleURL: URL { modelDirectory.appendingPathComponent(ModelCatalog.int8BundleName) }

    /// The model version of the int8 bundle `buildInt8Bundle` makes from the float32 model
    /// `baseModelVersion` with NETRA's committed activation scales: `<base>-int8-` and the first
    /// 12 hex of the scales' canonical SHA-256 (what `ModelSelection` requires of the bundle).
    public static func int8ModelVersion(baseModelVersion: String) throws(ModelFetchError) -> String {
        do {
            return try Int8ActivationScales.committed().scales.int8ModelVersion(baseModelVersion: baseModelVersion)
        } catch {
            throw .int8BuildFailed(detail: "\(error)")
        }
    }

    /// Whether the int8 bundle is there and was built from this directory's dlib files (by
    /// their catalogue hashes: `status()` checks the files themselves) and the committed scales.
    public func int8BundleState() -> Int8BundleState {
        guard FileManager.default.fileExists(atPath: int8BundleURL.path) else { return .missing }
        let bundle: ModelBundle
        do {
            bundle = try ModelBundle.read(from: int8BundleURL)
        } catch {
            return .damaged(reason: "\(error)")
        }
        guard bundle.header.format == .int8 else { return .stale(reason: "it is a \(bundle.header.format.rawValue) bundle") }
        guard let committed = try? Int8ActivationScales.committed(), let identity = try? committed.scales.canonicalSHA256() else {
            return .stale(reason: "the committed activation scales are missing from NETRA's resources")
        }
        let scalesSHA256 = committed.sha256
        let expected = expectedInputs(scalesSHA256: scalesSHA256)
        guard let builtFrom = bundle.header.builtFrom else { return .stale(reason: "it does not record what it was built from") }
        if let changed = expected.keys.sorted().first(where: { builtFrom[$0] != expected[$0] }) {
            return .stale(reason: "it was built from another \(changed)")
        }
        guard bundle.header.modelVersion.hasSuffix("-int8-" + identity.prefix(12)) else {
            return .stale(reason: "its model version \(bundle.header.modelVersion) is not that of the committed activation scales")
        }
        return .current
    }

    /// Writes the int8 bundle unless it is current: dlib's installed files quantized with the
    /// committed activation scales, written to a staging file and renamed into place. The
    /// build is a pure function of those files (the header's date is the scales'), so every
    /// machine builds the same bytes.
    ///
    /// - Parameters:
    ///   - baseModelVersion: the float32 model version; the bundle's is `int8ModelVersion(baseModelVersion:)`.
    ///   - threshold: the bundle's recorded threshold (`ModelSelection` applies `model.threshold`
    ///     or `model.calibration` to it, as to float32).
    /// - Returns: whether it was (re)built.
    @discardableResult
    public func buildInt8Bundle(baseModelVersion: String, threshold: Double,
                                logger: Logger = Logger(label: "netra.models")) throws(ModelFetchError) -> Bool {
        let state = int8BundleState()
        if state == .current { return false }
        if case let .stale(reason) = state { logger.info("rebuilding \(ModelCatalog.int8BundleName): \(reason)") }
        let bytes: [UInt8]
        do {
            let committed = try Int8ActivationScales.committed()
            let models = try DlibModels(modelDirectory: modelDirectory)
            let bundle = try ModelBundle.exporting(models, head: nil, format: .int8, baseModelVersion: baseModelVersion,
                                                   threshold: threshold, thresholdSource: "model.threshold",
                                                   activationScales: committed.scales, createdAt: committed.scales.provenance.createdAt,
                                                   builtFrom: [Int8ActivationScales.resourceName: committed.sha256])
            bytes = try bundle.encoded()
        } catch {
            throw .int8BuildFailed(detail: "\(error)")
        }
        let staging = try makeStagingDirectory(in: modelDirectory, prefix: ".netra-fetch-")
        defer { try? FileManager.default.removeItem(at: staging) }
        let temporary = staging.appendingPathComponent(ModelCatalog.int8BundleName)
        do {
            try Data(bytes).write(to: temporary)
        } catch {
            throw .cannotWrite(path: temporary.path, detail: error.localizedDescription)
        }
        try rename(temporary, to: int8BundleURL)
        logger.info("built \(ModelCatalog.int8BundleName) (\(bytes.count / 1_000_000) MB) from dlib's files and the committed int8 activation scales")
        return true
    }

    /// The SHA-256 a current bundle records for each of its inputs.
    private func expectedInputs(scalesSHA256: String) -> [String: String] {
        var expected = [Int8ActivationScales.resourceName: scalesSHA256]
        for file in files { expected[file.fileName] = file.sha256 }
        return expected
    }
}
