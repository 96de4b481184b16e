import Testing

/// The test tiers. Run one with `swift test --filter` on suite names, or with Swift Testing's
/// tag filter (`--filter` / `--skip` by tag in Xcode); docs/testing.md lists what each covers.
extension Tag {
    /// Pure logic: no model, no photo, no server; milliseconds each.
    @Tag public static var unit: Self
    /// Runs the real models on golden or public images (models loaded once per process).
    @Tag public static var model: Self
    /// A whole path through several layers: the CLI binary, a live server, a store round trip.
    @Tag public static var endToEnd: Self
}
