#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The progress line of a long run, on standard error (`--progress`; by default only on a
/// terminal). The explorer calls the reporter from its periodic check; this formats.
enum ProgressLine {
  /// Seconds between two lines, and before the first: a run shorter than this prints none.
  static let interval = 2.0

  static func text(_ path: String, _ p: ExplorationProgress) -> String {
    var line =
      "progress: \(path): \(Int(p.seconds)) s, \(TextReport.grouped(p.states)) states, "
      + "\(TextReport.grouped(Int(p.statesPerSecond.rounded()))) states/s, "
      + "queue \(TextReport.grouped(p.frontier)), depth \(p.depth), "
      + "store \(formatBytes(p.storeBytes))"
    if let rss = peakResidentBytes() { line += ", peak RSS \(formatBytes(rss))" }
    return line + "\n"
  }

  /// Writes each line straight to file descriptor 2, also from the child checking a spec
  /// (its other output travels through the pipe and is printed at its end).
  static func reporter(_ path: String) -> @Sendable (ExplorationProgress) -> Void {
    { p in
      let bytes = Array(text(path, p).utf8)
      var offset = 0
      while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { return }
        offset += n
      }
    }
  }
}
