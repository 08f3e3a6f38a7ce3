import PTState
import Testing

@testable import ModelCheck

/// A transition system given as an explicit graph: the state is the node number, and an
/// action is an edge of one process, possibly a retry of loop 1.
struct GraphSystem: TransitionSystem {
  struct Edge {
    var from: UInt64
    var to: UInt64
    var process: Int
    var retry: Bool
  }
  var edges: [Edge]
  var processCount: Int

  var wordCount: Int { 1 }
  var actionCount: Int { edges.count }
  func writeInitialState(_ s: PackedState) -> StepOutcome {
    s[word: 0] = 0
    return StepOutcome(enabled: true)
  }
  func apply(_ a: Int, to s: PackedState) -> StepOutcome {
    guard s[word: 0] == edges[a].from else { return .disabled }
    s[word: 0] = edges[a].to
    return StepOutcome(enabled: true, retryLoop: edges[a].retry ? 1 : 0)
  }
  func process(of a: Int) -> Int { edges[a].process }
  func isProgress(_ a: Int) -> Bool { edges[a].process >= 0 }
  func isFinished(_ s: PackedStateView) -> Bool { false }
  func finalViolations(_ s: PackedStateView) -> UInt32 { 0 }
}

/// A `GraphSystem` whose nodes stand for classes of symmetric states, with processes 1 and
/// 2 interchangeable (the representative of each node is itself).
struct SymmetricGraphSystem: TransitionSystem {
  var graph: GraphSystem
  var wordCount: Int { 1 }
  var actionCount: Int { graph.actionCount }
  var processCount: Int { graph.processCount }
  func writeInitialState(_ s: PackedState) -> StepOutcome { graph.writeInitialState(s) }
  func apply(_ a: Int, to s: PackedState) -> StepOutcome { graph.apply(a, to: s) }
  func process(of a: Int) -> Int { graph.process(of: a) }
  func isProgress(_ a: Int) -> Bool { graph.isProgress(a) }
  func isFinished(_ s: PackedStateView) -> Bool { false }
  func finalViolations(_ s: PackedStateView) -> UInt32 { 0 }
  var hasSymmetry: Bool { true }
  func canonicalize(_ s: PackedState) {}
  func symmetryClass(of k: Int) -> Int { k == 2 ? 1 : k }
}

/// The cycle search behind `cmpxchg_terminates`, on graphs small enough to see.
@Suite struct RetryAnalysisTests {
  func analyze(_ edges: [GraphSystem.Edge], processes: Int = 2, bound: Int? = nil) -> RetryReport {
    var explorer = BreadthFirst(system: GraphSystem(edges: edges, processCount: processes))
    explorer.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    var budget = Budget(remaining: nil)
    let report = explorer.analyzeRetries(
      process: 0, bound: bound, budget: &budget, inLoop: { _ in true },
      staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 })!
    // The stored edges (`SubgraphEdges`) give what regenerating every edge gives.
    let regenerated = explorer.analyzeRetries(
      process: 0, bound: bound, budget: &budget, inLoop: { _ in true },
      staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 }, storeEdges: false)!
    expectSame(report, regenerated)
    // So do the edges the search records (`LoopEdges`: here of every state).
    var recording = BreadthFirst(
      system: GraphSystem(edges: edges, processCount: processes), keepsLoopStates: true)
    recording.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    let (sources, states) = (recording.loopEdges.sourceCount, recording.store.count)
    #expect(sources == states)
    let recorded = recording.analyzeRetries(
      process: 0, bound: bound, budget: &budget, inLoop: { _ in true },
      staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 })!
    expectSame(report, recorded)
    return report
  }

  typealias E = GraphSystem.Edge

  @Test("with symmetry, a class is served when one of its members steps inside the cycle")
  func symmetricFairness() throws {
    // p1 rewrites, p0 fails, p1 rewrites back; p2 (p1's twin) could always leave to 3 but
    // never steps inside: unfair for p2 as a process, fair for the class {p1, p2}.
    let edges = [
      E(from: 0, to: 1, process: 1, retry: false), E(from: 1, to: 2, process: 0, retry: true),
      E(from: 2, to: 1, process: 1, retry: false), E(from: 1, to: 3, process: 2, retry: false),
      E(from: 2, to: 3, process: 2, retry: false),
    ]
    #expect(analyze(edges, processes: 3).lasso == nil)
    let system = SymmetricGraphSystem(graph: GraphSystem(edges: edges, processCount: 3))
    var explorer = BreadthFirst(system: system)
    explorer.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    let canonical = explorer.canonical
    #expect(canonical)
    var budget = Budget(remaining: nil)
    let report = try #require(
      explorer.analyzeRetries(
        process: 0, bound: nil, budget: &budget, inLoop: { $0[word: 0] != 3 },
        staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 }))
    #expect(report.lasso != nil)
    #expect(report.maxRetries == nil)
  }

  @Test("a path with two retries and no cycle: at most 2 retries")
  func acyclic() {
    let r = analyze([
      E(from: 0, to: 1, process: 0, retry: true), E(from: 1, to: 2, process: 0, retry: true),
      E(from: 0, to: 2, process: 1, retry: false),
    ])
    #expect(r.maxRetries == 2)
    #expect(r.lasso == nil)
  }

  @Test("a cycle without a retry is not a livelock")
  func cycleWithoutRetry() {
    let r = analyze([
      E(from: 0, to: 1, process: 0, retry: false), E(from: 1, to: 0, process: 1, retry: false),
    ])
    #expect(r.maxRetries == 0)
    #expect(r.lasso == nil)
  }

  @Test("a fair cycle with a retry is a livelock, shown as a lasso")
  func fairLivelock() throws {
    // 0 -> 1 (p1 rewrites), 1 -> 2 (p0 fails), 2 -> 1 (p1 rewrites back): both move.
    let r = analyze([
      E(from: 0, to: 1, process: 1, retry: false), E(from: 1, to: 2, process: 0, retry: true),
      E(from: 2, to: 1, process: 1, retry: false),
    ])
    let lasso = try #require(r.lasso)
    #expect(lasso.prefix.count == 1)
    #expect(lasso.cycle.count == 2)
    #expect(r.maxRetries == nil)
  }

  @Test("a retry cycle that starves an always-enabled process is unfair: unbounded, no lasso")
  func unfairCycle() {
    // p0 retries 0 -> 0' -> 0 forever while p1 is enabled everywhere and never moves.
    let r = analyze([
      E(from: 0, to: 1, process: 0, retry: true), E(from: 1, to: 0, process: 0, retry: false),
      E(from: 0, to: 5, process: 1, retry: false), E(from: 1, to: 5, process: 1, retry: false),
    ])
    #expect(r.lasso == nil)
    #expect(r.maxRetries == nil)
  }

  @Test("a process disabled somewhere in the cycle does not make it unfair")
  func disabledProcessIsFair() throws {
    // p1 can only move from state 0 (outside the cycle 1 <-> 2): weak fairness is met.
    let r = analyze([
      E(from: 0, to: 1, process: 0, retry: false), E(from: 1, to: 2, process: 0, retry: true),
      E(from: 2, to: 1, process: 0, retry: false), E(from: 0, to: 3, process: 1, retry: false),
    ])
    #expect(r.lasso != nil)
  }

  @Test("exceeding a declared bound yields a run with bound + 1 retries")
  func overBound() throws {
    let r = analyze(
      [
        E(from: 0, to: 1, process: 0, retry: true), E(from: 1, to: 2, process: 0, retry: true),
        E(from: 2, to: 3, process: 0, retry: true),
      ], bound: 1)
    #expect(r.maxRetries == 3)
    let run = try #require(r.overBound)
    #expect(run.count == 2)
  }

  @Test("a retry that changes nothing (a self-loop) is a livelock")
  func selfLoopLivelock() throws {
    let r = analyze([E(from: 0, to: 0, process: 0, retry: true)], processes: 1)
    let lasso = try #require(r.lasso)
    #expect(lasso.prefix.isEmpty)
    #expect(lasso.cycle.count == 1)
    #expect(r.maxRetries == nil)
  }

  @Test("a cmpxchg loop that fails forever without changing any state is a livelock")
  func unchangedFailingLoop() throws {
    // a stays none and nobody writes it, so every cmpxchg(a, present, ...) fails and leaves
    // the state exactly as it was (seen is 0 each time): a retry self-loop, and the only
    // process takes it, so the cycle is fair.
    let text = """
      mode native
      pte a = none
      check cmpxchg_terminates
      expect fail cmpxchg_terminates
      cpu c0 {
        var seen
        loop {
          seen = cmpxchg(a, present, present | write)
          if seen == present { break }
        }
      }
      """
    let r = try check(text)
    #expect(r.status(.cmpxchgTerminates) == .fail)
    guard case .lasso(let prefix, let cycle)? = r.result(.cmpxchgTerminates)?.counterexample else {
      Issue.record("no lasso")
      return
    }
    #expect(prefix.isEmpty && cycle.count == 1)
    #expect(r.statistics.states == 1)
  }
}

func expectSame(
  _ a: RetryReport, _ b: RetryReport, sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  #expect(a.maxRetries == b.maxRetries, sourceLocation: sourceLocation)
  #expect(a.subgraphStates == b.subgraphStates, sourceLocation: sourceLocation)
  #expect(a.overBound == b.overBound, sourceLocation: sourceLocation)
  #expect(a.lasso?.prefix == b.lasso?.prefix, sourceLocation: sourceLocation)
  #expect(a.lasso?.cycle == b.lasso?.cycle, sourceLocation: sourceLocation)
}

/// A graph of `nodes` states given by arithmetic (too many edges to list): four actions of
/// two processes, with self-loops, retries, disabled steps and states outside the loop.
struct ArithmeticSystem: TransitionSystem {
  var nodes: UInt64
  var processCount: Int { 2 }
  var wordCount: Int { 1 }
  var actionCount: Int { 4 }
  func writeInitialState(_ s: PackedState) -> StepOutcome {
    s[word: 0] = 0
    return StepOutcome(enabled: true)
  }
  func apply(_ a: Int, to s: PackedState) -> StepOutcome {
    let x = s[word: 0]
    switch a {
    case 0:
      s[word: 0] = (x + 1) % nodes
      return StepOutcome(enabled: true, retryLoop: x % 7 == 0 ? 1 : 0)
    case 1:
      s[word: 0] = (x * 3 + 1) % nodes
      return StepOutcome(enabled: true, retryLoop: x % 13 == 0 ? 1 : 0)
    case 2:
      guard x % 4 == 1 else { return .disabled }
      return StepOutcome(enabled: true, retryLoop: x % 5 == 0 ? 1 : 0)
    default:
      guard x % 3 != 0 else { return .disabled }
      s[word: 0] = x / 2
      return StepOutcome(enabled: true)
    }
  }
  func process(of a: Int) -> Int { a == 1 || a == 3 ? 1 : 0 }
  func isProgress(_ a: Int) -> Bool { true }
  func isFinished(_ s: PackedStateView) -> Bool { false }
  func finalViolations(_ s: PackedStateView) -> UInt32 { 0 }
}

/// `SubgraphEdges`: the edges a retry analysis stores, in chunks filled on several threads.
@Suite struct SubgraphEdgesTests {
  @Test("edges written node by node read back per node, across chunk boundaries")
  func roundTrip() throws {
    let n = 3 * SubgraphEdges.chunkSize + 17
    let edges = try #require(SubgraphEdges(nodeCount: n))
    #expect(edges.chunkCount == 4)
    // Node u has u % 4 edges: to (u * 7 + j) % n, every third a retry.
    func expected(_ u: Int) -> [(Int, Bool)] {
      (0..<(u % 4)).map { j in ((u * 7 + j) % n, (u + j) % 3 == 0) }
    }
    for k in 0..<edges.chunkCount {
      edges.fill(chunk: k, group: 5) { range, writer in
        for u in range {
          for (v, retry) in expected(u) {
            writer.append(UInt32(v) | (retry ? SubgraphEdges.retryBit : 0))
          }
          writer.end(node: u)
        }
      }
      #expect(!edges.failed(chunk: k))
    }
    for u in 0..<n {
      let got = (edges.first(u)..<edges.end(u)).map { edges.edge(u, $0) }
      let want = expected(u)
      #expect(got.count == want.count)
      for (g, w) in zip(got, want) where g.v != w.0 || g.retry != w.1 {
        Issue.record("node \(u): \(g) instead of \(w)")
      }
    }
  }

  @Test("on a graph of several chunks, stored edges give the regenerated edges' answer")
  func storedMatchesRegenerated() throws {
    for nodes: UInt64 in [10, 999, UInt64(3 * SubgraphEdges.chunkSize + 5)] {
      var explorer = BreadthFirst(system: ArithmeticSystem(nodes: nodes))
      var limits = Limits()
      limits.threads = 2  // the edges' chunks filled on two threads
      explorer.run(limits: limits, safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
      for bound in [nil, 2] {
        var budget = Budget(remaining: nil)
        func analyze(_ store: Bool) throws -> RetryReport {
          try #require(
            explorer.analyzeRetries(
              process: 0, bound: bound, budget: &budget, inLoop: { $0[word: 0] % 11 != 3 },
              staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 }, storeEdges: store))
        }
        let stored = try analyze(true)
        #expect(stored.subgraphStates > 0)
        expectSame(stored, try analyze(false))
      }
      var budget = Budget(remaining: nil)
      func terminates(_ store: Bool) throws -> RetryReport {
        try #require(
          explorer.analyzeRetries(
            process: nil, bound: nil, budget: &budget, inLoop: { $0[word: 0] % 11 != 3 },
            staysInLoop: { _ in true }, isRetry: { _ in true }, storeEdges: store))
      }
      expectSame(try terminates(true), try terminates(false))
    }
  }

  @Test("without the memory for the stored edges, the analysis regenerates them")
  func fallsBackWithoutMemory() throws {
    var explorer = BreadthFirst(system: ArithmeticSystem(nodes: 5000))
    explorer.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    func analyze(_ remaining: Int?) -> RetryReport? {
      var budget = Budget(remaining: remaining)
      return explorer.analyzeRetries(
        process: 0, bound: nil, budget: &budget, inLoop: { _ in true },
        staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 })
    }
    let full = try #require(analyze(nil))
    // Enough for the search's own arrays (56 bytes a state at most), not for the edges too.
    let tight = try #require(analyze(5000 * 56 + 1024))
    expectSame(full, tight)
  }
}
