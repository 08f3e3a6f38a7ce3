import PTState

/// Partial-order reduction, the explorer's half: an *ample set* of one process's local
/// step (the system says which steps are local: `TransitionSystem.localStepActions`).
///
/// A state is expanded with the actions of the first process (in process order) whose
/// next step is local, instead of with every action, when all of these hold:
/// - C0: at least one of them is enabled;
/// - C1: they are all that process's actions there, and a local step reads and writes
///   only state no other action touches, so no action of another process, before it, can
///   depend on it (the system's promise, checked in debug builds on every reduced state);
/// - C2: none of them raises a property event or a fault (invisible), and none leads to a
///   state the system wants expanded fully (with `cmpxchg_terminates`: a program inside a
///   retry loop), or back to the source;
/// - C3, the cycle proviso for breadth-first search: every successor is one level deeper
///   than the source: not yet stored, or stored in the next level (an id from `fresh` on).
///   Then no cycle of the reduced graph is made of reduced edges only (depth cannot grow
///   around a cycle), so every cycle has a fully expanded state, and no action is postponed
///   forever.
/// Otherwise the state is expanded fully. Whether a successor is stored, and where, depends
/// only on the store, which grows in the same order for any number of threads, so the
/// reduced graph is the same for `--threads N`. docs/properties.md ("Reductions") has the
/// argument that every property keeps its verdict.
extension BreadthFirst {
  /// The ample successors of `source` into `buffer` (with their hashes): their count and
  /// the enabled actions taken; nil when the state must be expanded fully. A successor
  /// `seen` holds must have an id from `fresh` on (the first id of the level after the
  /// source's).
  @inline(__always)
  static func ampleSet(
    _ system: System, source: PackedState, _ buffer: borrowing ExpansionBuffer,
    seen: VisitedSet.Probe, fresh: Int, canonical: Bool
  ) -> (produced: Int, enabled: Int)? {
    let view = source.view
    if system.mustExpandFully(view) { return nil }
    candidates: for k in 0..<system.processCount {
      let actions = system.localStepActions(of: k, in: view)
      if actions.isEmpty { continue }
      var produced = 0
      var enabled = 0
      for a in actions {
        let successor = buffer.successor(produced)
        successor.copy(from: view)
        let outcome = system.apply(a, to: successor)
        if !outcome.enabled { continue }
        enabled += 1
        if outcome.fault != 0 || outcome.violations != 0 || successor.view.equals(view) {
          continue candidates
        }
        if canonical { system.canonicalize(successor) }
        if system.mustExpandFully(successor.view) { continue candidates }
        let hash = VisitedSet.hash(successor.view)
        if let id = seen.id(of: successor.view, hash: hash, base: buffer.base), id < fresh {
          continue candidates
        }
        buffer.setHash(produced, hash)
        produced += 1
      }
      if enabled == 0 { continue }
      #if DEBUG
        checkIndependence(system, source: view, local: actions)
      #endif
      return (produced, enabled)
    }
    return nil
  }

  #if DEBUG
    /// Debug builds: the local step commutes with every other action in this state, neither
    /// enables nor disables another, and changes no other action's events.
    static func checkIndependence(_ system: System, source: PackedStateView, local: Range<Int>) {
      withScratchStates(wordCount: system.wordCount, count: 4) { s in
        for a in local {
          s[0].copy(from: source)
          guard system.apply(a, to: s[0]).enabled else { continue }
          for b in 0..<system.actionCount where !local.contains(b) {
            s[1].copy(from: source)
            let alone = system.apply(b, to: s[1])
            s[2].copy(from: s[0].view)
            let afterLocal = system.apply(b, to: s[2])
            precondition(
              alone.enabled == afterLocal.enabled,
              "partial-order reduction: local action \(a) changes whether action \(b) is enabled")
            guard alone.enabled else { continue }
            precondition(
              alone.violations == afterLocal.violations && alone.fault == afterLocal.fault,
              "partial-order reduction: local action \(a) changes the events of action \(b)")
            s[3].copy(from: s[1].view)
            let localAfter = system.apply(a, to: s[3])
            precondition(
              localAfter.enabled && localAfter.violations == 0 && localAfter.fault == 0
                && s[2].view.equals(s[3].view),
              "partial-order reduction: local action \(a) does not commute with action \(b)")
          }
        }
      }
    }
  #endif
}
