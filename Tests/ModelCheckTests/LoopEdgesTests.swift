import PTState
import Testing

@testable import ModelCheck

/// `ArithmeticSystem` where only some states are expanded fully (as a spec's states inside a
/// retry loop are), so the search records the edges between those states only. With a
/// second word (always 0), its store can turn to trees.
struct LoopArithmeticSystem: TransitionSystem {
  var arithmetic: ArithmeticSystem
  var wordCount = 1
  var processCount: Int { arithmetic.processCount }
  var actionCount: Int { arithmetic.actionCount }
  func writeInitialState(_ s: PackedState) -> StepOutcome {
    for w in 0..<wordCount { s[word: w] = 0 }
    return arithmetic.writeInitialState(s)
  }
  func apply(_ a: Int, to s: PackedState) -> StepOutcome { arithmetic.apply(a, to: s) }
  func process(of a: Int) -> Int { arithmetic.process(of: a) }
  func isProgress(_ a: Int) -> Bool { true }
  func isFinished(_ s: PackedStateView) -> Bool { false }
  func finalViolations(_ s: PackedStateView) -> UInt32 { 0 }
  func mustExpandFully(_ s: PackedStateView) -> Bool { s[word: 0] % 11 != 3 }
}

/// `LoopEdges`: the successors the search records for the retry analysis.
@Suite struct LoopEdgesTests {
  @Test("recorded sources and edges read back, past several growths, and after a trim")
  func roundTrip() throws {
    var edges = LoopEdges(records: true, actionCount: 10)
    // Even ids are sources; source id has id % 5 edges: to id * 3 + j, by action 2 * j.
    let ids = Array(stride(from: 0, to: 40_000, by: 2))
    for id in ids {
      let begun = edges.begin(source: id)
      #expect(begun)
      for j in 0..<(id % 5) { edges.append(target: id * 3 + j, action: UInt16(2 * j)) }
      edges.endSource()
    }
    func expectRecorded(_ edges: borrowing LoopEdges) {
      let (recording, sources, count) = (edges.isRecording, edges.sourceCount, edges.edgeCount)
      #expect(recording && sources == ids.count)
      #expect(count == ids.reduce(0) { $0 + $1 % 5 })
      for (i, id) in ids.enumerated() {
        let range = edges.edges(at: i)
        if edges.source(at: i) != id || range.count != id % 5 {
          Issue.record("source \(i): \(edges.source(at: i)) with \(range.count) edges")
        }
        for (j, k) in range.enumerated()
        where edges.target(k) != id * 3 + j || edges.action(k) != 2 * j {
          Issue.record("source \(id), edge \(j): \(edges.target(k)) by \(edges.action(k))")
        }
      }
      let found = [
        edges.index(of: 1234), edges.index(of: 1234, from: 617), edges.index(of: 1235),
        edges.index(of: 40_000),
      ]
      #expect(found == [617, 617, nil, nil])
    }
    expectRecorded(edges)
    let before = edges.residentBytes
    edges.trim()
    let (after, exact) = (edges.residentBytes, edges.sourceCount * 8 + edges.edgeCount * 6)
    #expect(after == exact && after < before)
    expectRecorded(edges)

    edges.abandon()
    let left = (edges.isRecording, edges.residentBytes, edges.sourceCount, edges.edgeCount)
    #expect(left == (false, 0, 0, 0))
    let begun = edges.begin(source: 40_002)
    #expect(!begun)
  }

  @Test("nothing is recorded when not asked, under fingerprints, or past the action field")
  func notRecording() {
    let recording = [
      LoopEdges(records: false, actionCount: 4).isRecording,
      LoopEdges(records: true, actionCount: Int(UInt16.max)).isRecording,
      LoopEdges(records: true, actionCount: Int(UInt16.max) - 1).isRecording,
    ]
    #expect(recording == [false, false, true])
    // Under fingerprints the analysis reads the loop states kept (`LoopStates`) instead.
    let hashed = BreadthFirst(
      system: ArithmeticSystem(nodes: 10), fingerprints: true, keepsLoopStates: true)
    let hashedRecords = hashed.loopEdges.isRecording
    #expect(!hashedRecords)
  }

  @Test(
    "the parallel search records what the one-thread search records",
    arguments: [UInt64(999), UInt64(3 * SubgraphEdges.chunkSize + 5)])
  func parallelRecordsTheSame(_ nodes: UInt64) throws {
    let system = LoopArithmeticSystem(arithmetic: ArithmeticSystem(nodes: nodes))
    /// Per source: its id, then its edges' targets and actions (nil: nothing recorded).
    func record(threads: Int) -> [[Int]]? {
      var explorer = BreadthFirst(system: system, keepsLoopStates: true)
      var limits = Limits()
      limits.threads = threads
      explorer.run(limits: limits, safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
      guard explorer.loopEdges.isRecording else { return nil }
      return (0..<explorer.loopEdges.sourceCount).map { i in
        [explorer.loopEdges.source(at: i)]
          + explorer.loopEdges.edges(at: i).flatMap {
            [explorer.loopEdges.target($0), explorer.loopEdges.action($0)]
          }
      }
    }
    let one = try #require(record(threads: 1))
    #expect(!one.isEmpty)
    #expect(record(threads: 2) == one)
    #expect(record(threads: 3) == one)
  }

  /// The retry analysis of `explorer`'s graph with recorded edges, against a search that
  /// recorded none and against regenerating every edge as it is followed.
  func expectRecordedMatches(
    _ nodes: UInt64, inLoop: @escaping (PackedStateView) -> Bool, bound: Int?
  ) throws {
    let system = LoopArithmeticSystem(arithmetic: ArithmeticSystem(nodes: nodes))
    var recorded = BreadthFirst(system: system, keepsLoopStates: true)
    recorded.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    var plain = BreadthFirst(system: system)
    plain.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    let recording = (recorded.loopEdges.isRecording, plain.loopEdges.isRecording)
    #expect(recording == (true, false))
    // Every state expanded fully is a source, and only those.
    let full = (0..<recorded.store.count).filter {
      recorded.store.withState($0, system.mustExpandFully)
    }
    let (sources, states) = (recorded.loopEdges.sourceCount, recorded.store.count)
    #expect(sources == full.count && full.count < states)
    for (i, id) in full.enumerated() where recorded.loopEdges.source(at: i) != id {
      Issue.record("source \(i) is \(recorded.loopEdges.source(at: i)), not \(id)")
    }
    func analyze(_ explorer: borrowing BreadthFirst<LoopArithmeticSystem>, store: Bool) throws
      -> RetryReport
    {
      var budget = Budget(remaining: nil)
      return try #require(
        explorer.analyzeRetries(
          process: 0, bound: bound, budget: &budget, inLoop: inLoop,
          staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 }, storeEdges: store))
    }
    let fromRecord = try analyze(recorded, store: true)
    #expect(fromRecord.subgraphStates > 0)
    expectSame(fromRecord, try analyze(plain, store: true))
    expectSame(fromRecord, try analyze(recorded, store: false))
  }

  @Test(
    "on graphs of one and several chunks, recorded edges give the regenerated edges' answer",
    arguments: [UInt64(10), 999, UInt64(3 * SubgraphEdges.chunkSize + 5)])
  func recordedMatchesRegenerated(_ nodes: UInt64) throws {
    for bound in [nil, 2] {
      // The subgraph is every state expanded fully, or a part of them.
      try expectRecordedMatches(nodes, inLoop: { $0[word: 0] % 11 != 3 }, bound: bound)
      try expectRecordedMatches(
        nodes, inLoop: { $0[word: 0] % 11 != 3 && $0[word: 0] % 17 != 5 }, bound: bound)
    }
  }

  @Test("recording gives way once the store turns to trees, and the answer is the same")
  func givesWayToTrees() throws {
    let system = LoopArithmeticSystem(arithmetic: ArithmeticSystem(nodes: 5000), wordCount: 2)
    var trees = BreadthFirst(system: system, compressAt: 200, keepsLoopStates: true)
    trees.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    let gaveWay = (
      trees.store.tree != nil, trees.loopEdges.isRecording, trees.loopEdges.residentBytes
    )
    #expect(gaveWay == (true, false, 0))
    var recorded = BreadthFirst(system: system, keepsLoopStates: true)
    recorded.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    let recording = recorded.loopEdges.isRecording
    #expect(recording)
    var budget = Budget(remaining: nil)
    let inLoop: (PackedStateView) -> Bool = { $0[word: 0] % 11 != 3 }
    let a = try #require(
      trees.analyzeRetries(
        process: 0, bound: nil, budget: &budget, inLoop: inLoop, staysInLoop: { _ in true },
        isRetry: { $0.retryLoop == 1 }))
    let b = try #require(
      recorded.analyzeRetries(
        process: 0, bound: nil, budget: &budget, inLoop: inLoop, staysInLoop: { _ in true },
        isRetry: { $0.retryLoop == 1 }))
    expectSame(a, b)
  }

  @Test("recording gives way near the memory limit, and the run still completes")
  func givesWayToMemory() throws {
    let system = ArithmeticSystem(nodes: 200_000)
    var recorded = BreadthFirst(system: system, keepsLoopStates: true)
    recorded.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    var plain = BreadthFirst(system: system)
    plain.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    let (with, without) = (recorded.statistics.storeBytes, plain.statistics.storeBytes)
    let edgeBytes = recorded.loopEdges.edgeCount * 6
    #expect(with > without + edgeBytes)
    // Recording gives way above seven eighths of the limit: here between the two.
    let limit = (with + without) / 2 * 8 / 7
    var tight = BreadthFirst(system: system, keepsLoopStates: true)
    tight.run(
      limits: Limits(maxMemoryBytes: limit), safetyBits: 0, deadlockBit: 0,
      needsFullGraph: true)
    let outcome = (
      tight.isComplete, tight.exploredAll, tight.loopEdges.isRecording, tight.statistics.states
    )
    #expect(outcome == (true, true, false, plain.statistics.states))
  }

  @Test(
    "on specs with retry loops, cmpxchg_terminates reads the same from recorded edges",
    arguments: [
      "semantics/self-loop-livelock.spec", "regress/outer-loop-retry-livelock.spec",
      "regress/retry-loop-reentered.spec", "xen-preserve-ad/update-intpte-locked.spec",
      "semantics/unfair-retry-only.spec",
    ])
  func specs(_ relative: String) throws {
    let (_, program) = try compiledSpec(relative)
    #expect(program.checks(.cmpxchgTerminates))
    func decide(records: Bool, threads: Int = 1) -> (PropertyResult, Int, Bool) {
      var explorer = BreadthFirst(system: program, keepsLoopStates: records)
      var limits = Limits()
      limits.threads = threads
      explorer.run(limits: limits, safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
      var budget = Budget(remaining: nil)
      let (result, states) = GraphVerdicts.cmpxchgTerminates(program, explorer, budget: &budget)
      return (result, states, explorer.loopEdges.sourceCount > 0)
    }
    let (plain, plainStates, _) = decide(records: false)
    for threads in [1, 2] {
      let (recorded, recordedStates, used) = decide(records: true, threads: threads)
      #expect(used)
      #expect(recordedStates == plainStates && recordedStates > 0)
      #expect(recorded.status == plain.status)
      #expect(recorded.details == plain.details)
      #expect(
        "\(String(describing: recorded.counterexample))"
          == "\(String(describing: plain.counterexample))")
    }
  }
}
