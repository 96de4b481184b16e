import CBLAS
import Foundation

/// Settings the numeric libraries read once, when they load.
///
/// oneDNN's OpenMP pool and OpenBLAS's pool both spin-wait between calls by default; on a
/// two-core machine the two pools then steal each other's cores and 2-thread runs become
/// 25-100x slower. These variables make both pools sleep instead. They must be in the
/// environment before the process starts, so the command line re-executes itself with them
/// when they are missing (see `netra`'s entry point).
public enum ComputeEnvironment {
    public static let variables = ["OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"]

    /// The variables missing from `environment`.
    public static func missing(in environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        variables.filter { environment[$0.key] == nil }
    }

    /// OpenBLAS threads for GEMM-shaped work (the 1:N index, the detector's last layer).
    public static func setBLASThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
