/// Resource limits of one run. Reaching one stops exploration cleanly; every property
/// not yet violated is then reported as incomplete, never as a pass.
public struct Limits: Sendable {
  public var maxStates: Int?
  public var maxMemoryBytes: Int?
  public init(maxStates: Int? = nil, maxMemoryBytes: Int? = nil) {
    self.maxStates = maxStates
    self.maxMemoryBytes = maxMemoryBytes
  }
}

/// Why exploration stopped before the graph was complete. A runtime fault is the system's
/// code (`StepOutcome.fault`): the explorer does not know what it means
/// (`Properties/Verdict.swift` names it).
public enum StopReason: Sendable, Equatable {
  case stateLimit(Int)
  case memoryLimit(Int)
  case outOfMemory
  case fault(code: UInt8)
}

func formatBytes(_ b: Int) -> String {
  if b >= 1 << 30 { return String(format2(Double(b) / Double(1 << 30))) + " GiB" }
  if b >= 1 << 20 { return String(format2(Double(b) / Double(1 << 20))) + " MiB" }
  if b >= 1 << 10 { return String(format2(Double(b) / Double(1 << 10))) + " KiB" }
  return "\(b) B"
}

/// A number with at most two decimals, without Foundation's locale-dependent formatting.
func format2(_ x: Double) -> String {
  let scaled = (x * 100).rounded()
  guard scaled.isFinite, abs(scaled) < 1e15 else { return "\(x)" }
  let n = Int(scaled)
  let frac = abs(n % 100)
  return "\(n / 100).\(frac < 10 ? "0" : "")\(frac)"
}
