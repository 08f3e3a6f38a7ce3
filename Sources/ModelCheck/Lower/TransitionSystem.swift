import PTState

/// The narrow protocol between the explorer and what it explores: what lowering produces.
/// The explorer sees states only as `wordCount` words behind the packed-state views, and
/// actions only as indices; it never learns what a PTE is. The compiled `Program` is the
/// one conformer. The parallel explorer calls it from several threads at once: a conformer
/// is read-only once built (`Program` is), and `apply` writes only the state it is given.
public protocol TransitionSystem: SendableMetatype {
  /// Words per packed state.
  var wordCount: Int { get }
  var actionCount: Int { get }
  /// Processes that weak fairness applies to (the programs); the environment is not one.
  var processCount: Int { get }

  /// Writes the initial state; its outcome can carry a fault.
  func writeInitialState(_ state: PackedState) -> StepOutcome
  /// Applies `action` in place to `state` (a copy of the source). When the outcome is not
  /// enabled, `state` may be left partly changed and must be discarded.
  func apply(_ action: Int, to state: PackedState) -> StepOutcome
  /// The process `action` belongs to, or -1 for the environment (hardware, hypervisor).
  func process(of action: Int) -> Int
  /// Whether taking `action` counts as the system moving, for the deadlock check: every
  /// process's action, and environment actions that a waiting process depends on.
  func isProgress(_ action: Int) -> Bool
  /// Whether every process has run to completion.
  func isFinished(_ state: PackedStateView) -> Bool
  /// Properties violated by a final state (every process finished), as bits.
  func finalViolations(_ state: PackedStateView) -> UInt32
  /// What is wrong with a state the system can never reach, if anything (checked on every
  /// stored state in debug builds only).
  func invariantViolation(_ state: PackedStateView) -> String?

  /// Whether `action` is enabled in `state` and would lead back to it raising nothing, said
  /// without applying it (the explorer then counts the transition and skips it). False
  /// whenever unsure: the default.
  func changesNothing(_ action: Int, in state: PackedStateView) -> Bool

  // Partial-order reduction (`Explore/PartialOrder.swift`); the defaults offer none.
  /// Whether some step may be local at all.
  var offersLocalSteps: Bool { get }
  /// Process `k`'s step actions when its next step in `state` is *local*: it reads and
  /// writes only state that no other process's action and no environment action ever reads
  /// or writes, and its enabledness depends on that state alone. Empty otherwise.
  func localStepActions(of k: Int, in state: PackedStateView) -> Range<Int>
  /// Whether `state` must be expanded with every action (a graph property's subgraph).
  func mustExpandFully(_ state: PackedStateView) -> Bool

  // Symmetry reduction (`BreadthFirst`'s `canonical`); the defaults have none.
  var hasSymmetry: Bool { get }
  /// Rewrites `state` as the representative of the states symmetric to it.
  func canonicalize(_ state: PackedState)
  /// A representative of the processes interchangeable with process `k` (`k` if none).
  func symmetryClass(of k: Int) -> Int
}

extension TransitionSystem {
  public func invariantViolation(_ state: PackedStateView) -> String? { nil }
  public func changesNothing(_ action: Int, in state: PackedStateView) -> Bool { false }
  public var offersLocalSteps: Bool { false }
  public func localStepActions(of k: Int, in state: PackedStateView) -> Range<Int> { 0..<0 }
  public func mustExpandFully(_ state: PackedStateView) -> Bool { true }
  public var hasSymmetry: Bool { false }
  public func canonicalize(_ state: PackedState) {}
  public func symmetryClass(of k: Int) -> Int { k }
}

/// What applying one action did.
public struct StepOutcome: Sendable {
  public var enabled: Bool
  /// Bit per property (`PropertyKind.bit`) violated by this step.
  public var violations: UInt32
  /// Nonzero: the step hit a `RuntimeFault`; exploration stops.
  public var fault: UInt8
  /// Nonzero: a cmpxchg owned by retry loop `retryLoop - 1` failed in this step.
  public var retryLoop: UInt16
  /// For a process's step: the lowest and highest program counter it passed through (so
  /// a step that left a loop and came back into it is seen as leaving it).
  public var pcLow: Int32 = 0
  public var pcHigh: Int32 = 0

  @inlinable public init(
    enabled: Bool, violations: UInt32 = 0, fault: UInt8 = 0, retryLoop: UInt16 = 0
  ) {
    self.enabled = enabled
    self.violations = violations
    self.fault = fault
    self.retryLoop = retryLoop
  }

  public static let disabled = StepOutcome(enabled: false)
}
