import Foundation

/// This process's memory use, from Linux's `/proc/self/status` (0 where it cannot be read).
public enum ProcessMemory {
    /// Resident set size now.
    public static func residentBytes() -> Int { field("VmRSS:") }

    /// Largest resident set size so far.
    public static func peakResidentBytes() -> Int { field("VmHWM:") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
