/// Counters of one exploration, printed for every run.
public struct Statistics: Sendable {
  public var states = 0
  public var transitions = 0
  public var depth = 0
  /// States expanded with an ample set (partial-order reduction) instead of every action.
  public var reducedStates = 0
  /// The counterexamples come from a search without the reduction (shortest in the full
  /// graph); or they could not be, and a shorter one may exist.
  public var counterexamplesUnreduced = false
  /// Symmetry reduction: one state stood for each class of symmetric states.
  public var symmetry = false
  public var counterexamplesMayNotBeShortest = false
  public var seconds = 0.0
  /// Time of the graph passes (`cmpxchg_terminates`, `terminates`) after exploration, and
  /// the states of the subgraphs they searched.
  public var livenessSeconds = 0.0
  public var livenessStates = 0
  public var wordsPerState = 0
  /// Bytes held by the state store and visited set at the end (the explorer's own count).
  public var storeBytes = 0
  /// Whether the store held its states as trees at the end (`--compress`).
  public var storeTrees = false
  /// Hash compaction (`--fingerprint`): the visited set kept hashes, not states.
  public var fingerprints = false
  /// Peak resident memory of the whole process (from the OS), if known.
  public var peakResidentBytes: Int?

  /// Whether a reduction made the state graph smaller than the full one.
  public var reduced: Bool { reducedStates > 0 || symmetry }

  public var statesPerSecond: Double { seconds > 0 ? Double(states) / seconds : 0 }

  /// Under fingerprints, a bound on the chance that a state was missed (nil: exact).
  public var omissionBound: Double? {
    fingerprints ? VisitedSet.omissionBound(states: states) : nil
  }
}
