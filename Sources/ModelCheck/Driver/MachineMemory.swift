import Foundation

/// The memory this process may use, from the machine and its control group, so that a run
/// without `--max-memory` stops cleanly as incomplete before the kernel's out-of-memory
/// killer ends it (TLC and SPIN die there, or swap).
enum MachineMemory {
  /// The share of the memory available that the state store and visited set may fill:
  /// the rest is the process's own (code, the trace of a counterexample, the graph passes'
  /// bookkeeping), and room for a table that doubles while its old half is still there.
  static let share = 0.6

  /// `share` of the smaller of physical memory (`MemTotal`) and the control group's
  /// limit (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`); nil when neither is known.
  static func defaultLimit(
    read: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
  ) -> Int? {
    let candidates = [physical(read), cgroup(read)].compactMap { $0 }
    guard let available = candidates.min() else { return nil }
    return Int(Double(available) * share)
  }

  /// `MemTotal` of /proc/meminfo, in bytes.
  static func physical(_ read: (String) -> String?) -> Int? {
    guard let text = read("/proc/meminfo") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
      let fields = line.split(separator: " ")
      guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
      return kib * 1024
    }
    return nil
  }

  /// The control group's memory limit in bytes; nil when unlimited or unknown (v1 reports
  /// "unlimited" as a huge number, which the physical size then bounds).
  static func cgroup(_ read: (String) -> String?) -> Int? {
    for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
      guard let text = read(path)?.trimmingCharacters(in: .whitespacesAndNewlines) else {
        continue
      }
      if text == "max" { return nil }
      if let bytes = Int(text), bytes > 0 { return bytes }
    }
    return nil
  }
}
