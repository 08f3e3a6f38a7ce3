/// Resource limits of one run, and what the explorer's periodic check (every 1024th
/// expansion) asks besides memory: the clock, a stop asked from outside, a progress report.
/// Reaching a limit stops exploration cleanly; every property not yet violated is then
/// reported as incomplete, never as a pass.
public struct Limits: Sendable {
  public var maxStates: Int?
  public var maxMemoryBytes: Int?
  /// Whether `maxMemoryBytes` is the machine's (derived from its memory, not asked for).
  public var memoryLimitIsMachine = false
  /// Threads for exploration (`--threads`); the result does not depend on it.
  public var threads = 1
  /// Partial-order reduction (`--no-por` turns it off): fewer states, the same verdicts.
  public var partialOrder = true
  /// Symmetry reduction (`--no-symmetry` turns it off): one state per class of states that
  /// differ only by which of some interchangeable CPUs is which.
  public var symmetry = true
  /// Tree compression of the stored states (`StateStore`, `StateTree`).
  public var compression = Compression.auto
  /// Hash compaction (`--fingerprint`): keep each state's 64-bit hash instead of the state
  /// (`VisitedSet`). A state may be missed, with the chance printed; `terminates` and
  /// `reachable` are not decided, `cmpxchg_terminates` is on the loop states kept
  /// (`LoopStates`).
  public var fingerprints = false

  public enum Compression: Sendable, Equatable {
    /// Whole states until they fill a quarter of `maxMemoryBytes`, then trees: a run that
    /// fits keeps the faster store, one that would not goes on in about half the memory.
    case auto
    /// Trees from the given count on (`--compress`: 65,536).
    case after(Int)
    /// Whole states only (`--no-compress`).
    case never
  }

  /// The count at which a store of `wordCount`-word states turns to trees (nil: never).
  public func compressAt(wordCount: Int) -> Int? {
    switch compression {
    case .never: return nil
    case .after(let count): return count
    case .auto:
      // A whole state costs its words, 4 B of parent link and 6-11 B of visited slots.
      return maxMemoryBytes.map { max($0 / 4 / (wordCount * 8 + 12), 1 << 16) }
    }
  }
  /// Wall-clock seconds the check of one spec may take (exploration and graph passes).
  public var maxSeconds: Double?
  /// Nonzero when someone outside asks the run to stop (the driver passes the signal that
  /// asked); the run then stops with `StopReason.interrupted`.
  public var stopRequest: (@Sendable () -> Int32)?
  /// Called every `progressInterval` seconds, from the first interval on (a run shorter
  /// than one interval reports nothing). Runs on the exploring thread: keep it short.
  public var progress: (@Sendable (ExplorationProgress) -> Void)?
  public var progressInterval = 2.0

  public init(
    maxStates: Int? = nil, maxMemoryBytes: Int? = nil, maxSeconds: Double? = nil,
    stopRequest: (@Sendable () -> Int32)? = nil,
    progress: (@Sendable (ExplorationProgress) -> Void)? = nil
  ) {
    self.maxStates = maxStates
    self.maxMemoryBytes = maxMemoryBytes
    self.maxSeconds = maxSeconds
    self.stopRequest = stopRequest
    self.progress = progress
  }
}

/// A running exploration as the progress line shows it.
public struct ExplorationProgress: Sendable, Equatable {
  public var seconds = 0.0
  public var states = 0
  public var transitions = 0
  /// States found but not yet expanded: the breadth-first queue.
  public var frontier = 0
  public var depth = 0
  /// The state store and visited set, as `Statistics.storeBytes` counts them.
  public var storeBytes = 0

  public init(
    seconds: Double = 0, states: Int = 0, transitions: Int = 0, frontier: Int = 0,
    depth: Int = 0, storeBytes: Int = 0
  ) {
    self.seconds = seconds
    self.states = states
    self.transitions = transitions
    self.frontier = frontier
    self.depth = depth
    self.storeBytes = storeBytes
  }

  public var statesPerSecond: Double { seconds > 0 ? Double(states) / seconds : 0 }
}

/// The periodic checks of one spec's run: when it started (the time limit counts from
/// there) and when the next progress report is due.
struct Watch {
  let limits: Limits
  let start: Double
  private var nextReport: Double

  init(_ limits: Limits, start: Double) {
    self.limits = limits
    self.start = start
    self.nextReport = start + limits.progressInterval
  }

  /// A stop asked from outside, or the time limit passed; nil to go on.
  func stop(at now: Double) -> StopReason? {
    if let ask = limits.stopRequest {
      let signal = ask()
      if signal != 0 { return .interrupted(signal: signal) }
    }
    if let m = limits.maxSeconds, now - start >= m { return .timeLimit(m) }
    return nil
  }

  /// The explorer's check: a stop, or nil after reporting progress if it is due.
  mutating func poll(_ progress: @autoclosure () -> ExplorationProgress) -> StopReason? {
    let now = monotonicSeconds()
    if let s = stop(at: now) { return s }
    if let report = limits.progress, now >= nextReport {
      var p = progress()
      p.seconds = now - start
      report(p)
      // A steady beat; after a long gap (a slow report), the next is a full interval away.
      nextReport += limits.progressInterval
      if nextReport <= now { nextReport = now + limits.progressInterval }
    }
    return nil
  }
}

/// Why exploration stopped before the graph was complete. A runtime fault is the system's
/// code (`StepOutcome.fault`): the explorer does not know what it means
/// (`Properties/Verdict.swift` names it); an interruption carries the asker's code.
public enum StopReason: Sendable, Equatable {
  case stateLimit(Int)
  case memoryLimit(Int)
  /// The limit derived from the machine's memory (no `--max-memory` was given).
  case machineMemoryLimit(Int)
  case timeLimit(Double)
  case outOfMemory
  case interrupted(signal: Int32)
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
