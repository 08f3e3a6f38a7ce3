/// The properties decided on the explored graph once exploration is complete:
/// `cmpxchg_terminates` (one analysis per retry loop) and `terminates` (one analysis of
/// every state where some program has not finished). Both use `analyzeRetries`
/// (`RetryAnalysis.swift`); a pass that runs out of memory gives an incomplete verdict.
enum GraphVerdicts {
  /// The retry loops of each cmpxchg: its innermost enclosing `loop`, and every enclosing
  /// `loop` outside that one that has a `break` of its own (a retry written as an outer loop
  /// around one attempt). A loop without a `break` runs forever by design and is not a retry
  /// loop for what its inner loops contain. Per loop: the loop tags whose failing cmpxchgs
  /// are retries of it (nil: not a retry loop).
  static func retryTags(_ program: Program) -> [Set<UInt16>?] {
    var owned = Set<UInt16>()
    for case .cmpxchg(_, _, _, _, let tag) in program.code where tag != 0 { owned.insert(tag) }
    let loops = program.loops
    return loops.indices.map { id in
      let outer = loops[id]
      let tags = Set(
        loops.indices.filter { inner in
          loops[inner].cpu == outer.cpu && outer.pcs.lowerBound <= loops[inner].pcs.lowerBound
            && loops[inner].pcs.upperBound <= outer.pcs.upperBound
        }.map { UInt16($0 + 1) }
      ).intersection(owned)
      if tags.isEmpty { return nil }
      if tags.contains(UInt16(id + 1)) || outer.hasExit { return tags }
      return nil
    }
  }
}
