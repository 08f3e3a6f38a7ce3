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

/// The cycle search behind `cmpxchg_terminates`, on graphs small enough to see.
@Suite struct RetryAnalysisTests {
  func analyze(_ edges: [GraphSystem.Edge], processes: Int = 2, bound: Int? = nil) -> RetryReport {
    var explorer = BreadthFirst(system: GraphSystem(edges: edges, processCount: processes))
    explorer.run(limits: Limits(), safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
    var budget = Budget(remaining: nil)
    return explorer.analyzeRetries(
      process: 0, bound: bound, budget: &budget, inLoop: { _ in true },
      staysInLoop: { _ in true }, isRetry: { $0.retryLoop == 1 })!
  }

  typealias E = GraphSystem.Edge

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
