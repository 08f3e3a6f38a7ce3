import PTState

/// Under fingerprints (`--fingerprint`), the states the retry analysis reads, kept exactly:
/// every state where the system wants a full expansion (`TransitionSystem.mustExpandFully`:
/// with `cmpxchg_terminates`, a program inside a retry loop), in an explorer of their own,
/// so that `analyzeRetries` runs on them as it runs on the whole store.
///
/// They are stored in the order the search finds them, so their ids number the loop
/// subgraphs in the order the whole store's ids do, and the analysis makes the same choices.
/// A run from the initial state to one of them goes through states that are not kept: the
/// analysis asks for it (`BreadthFirst.actions(to:)` records the question), and the caller
/// answers it from the search (`BreadthFirst.rebuildPaths`) and runs the analysis again.
final class LoopStates<System: TransitionSystem> {
  var explorer: BreadthFirst<System>?
  /// Per kept state, its id in the search.
  private(set) var searchID: [Int] = []
  /// Kept states' ids whose runs from the initial state were asked for, and the answers.
  var asked: Set<Int> = []
  var answers: [Int: [Int]] = [:]

  /// Kept states turn to trees (`StateTree`) from the 65,536th on, as with `--compress`:
  /// fingerprints are asked for to save memory.
  init(system: System) {
    explorer = BreadthFirst(system: system, compressAt: 1 << 16)
  }

  /// Keeps `state`, the search's new state `id` (never one kept already: the search stores
  /// each state once). False when memory could not be had.
  func keep(_ state: PackedStateView, id: Int) -> Bool {
    let parent: Int? = searchID.isEmpty ? nil : 0  // unused: runs are asked for instead
    guard let inserted = explorer?.keep(state, parent: parent), inserted else { return false }
    searchID.append(id)
    return true
  }

  /// Bytes of the kept states and their visited set.
  var residentBytes: Int {
    switch explorer {
    case .some(let e): return e.store.residentBytes + e.visited.residentBytes
    case .none: return 0
    }
  }
}

extension BreadthFirst {
  /// Stores `state` unless it is stored already (for `LoopStates`). False when memory could
  /// not be had.
  mutating func keep(_ state: PackedStateView, parent: Int?) -> Bool {
    if case .outOfMemory = visited.insert(state, parent: parent, into: &store) { return false }
    return true
  }
}
