import Foundation
import NetraTestSupport
import Testing

/// The checks of the deployment files (docker/, k8s/, helm/netra/, monitoring/; README
/// "Deployment" > "Checks"): one test per subcommand of `scripts/check_deployment.py`, run from
/// the package root against the debug build of `netra`. The script prints one line per problem,
/// shown here when a check fails.
@Suite("Deployment checks", .serialized, .tags(.endToEnd))
struct DeploymentChecksTests {
    @Test(.offCooperativePool) func yamlFilesParse() throws { try expectPasses("yaml") }

    @Test(.offCooperativePool) func yamllintIsClean() throws { try expectPasses("yamllint") }

    @Test(.offCooperativePool) func dockerAndComposeFilesAgree() throws { try expectPasses("docker", binary: true) }

    @Test(.offCooperativePool) func runtimeImageProvidesEveryLinkedLibrary() throws { try expectPasses("docker-libs", binary: true) }

    @Test(.offCooperativePool) func entrypointWorks() throws { try expectPasses("entrypoint", binary: true) }

    @Test(.offCooperativePool) func kubernetesObjectsAreConsistent() throws { try expectPasses("kubernetes", binary: true) }

    @Test(.offCooperativePool) func helmChartLintsAndRenders() throws { try expectPasses("helm", binary: true) }

    @Test(.offCooperativePool) func dashboardAndAlertsUseLiveMetrics() throws { try expectPasses("metrics", binary: true) }

    @Test(.offCooperativePool) func promtoolAcceptsConfigRulesAndQueries() throws { try expectPasses("promtool") }

    // MARK: Running the script

    /// The package root: the nearest folder above this file holding Package.swift.
    static let root: URL = {
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path), folder.path != "/" {
            folder.deleteLastPathComponent()
        }
        return folder
    }()

    /// Debian's Python, which has PyYAML from python3-yaml; any python3 on the PATH otherwise.
    static let python: [String] = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        ? ["/usr/bin/python3"] : ["/usr/bin/env", "python3"]

    private func expectPasses(_ check: String, binary: Bool = false) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python[0])
        process.arguments = Array(Self.python.dropFirst()) + ["scripts/check_deployment.py", check]
            + (binary ? ["--binary", SharedData.builtBinary.path] : [])
        process.currentDirectoryURL = Self.root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/check_deployment.py \(check):\n\(text)")
    }
}
