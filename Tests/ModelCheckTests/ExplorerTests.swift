import Testing

@testable import ModelCheck

/// The explorer on hand-sized models whose state spaces are counted by hand.
@Suite struct ExplorerTests {
  @Test("one CPU, two writes: initial, after the first, after the second (3 states)")
  func straightLine() throws {
    let r = try check(spec(mode: "native", "cpu c0 {\n set_pte(a, none)\n set_pte(b, present)\n}"))
    #expect(r.statistics.states == 3)
    #expect(r.statistics.transitions == 2)
    #expect(r.statistics.depth == 2)
    #expect(r.matchesExpectation)
  }

  @Test("two CPUs with one independent write each: a 2 x 2 grid (4 states, 4 transitions)")
  func interleaving() throws {
    let r = try check(
      spec(mode: "native", "cpu c0 {\n set_pte(a, none)\n}\ncpu c1 {\n set_pte(b, present)\n}"))
    #expect(r.statistics.states == 4)
    #expect(r.statistics.transitions == 4)
    #expect(r.statistics.depth == 2)
  }

  @Test("local code runs in the step before it: registers add no interleavings")
  func localCodeIsFolded() throws {
    let r = try check(
      spec(mode: "native", "cpu c0 {\n var x, y\n x = present\n y = x | write\n set_pte(a, y)\n}"))
    #expect(r.statistics.states == 2)
  }

  @Test("either: the choice is a step of its own (7 states)")
  func either() throws {
    let r = try check(
      spec(
        mode: "native",
        "cpu c0 {\n either { set_pte(a, none) } or { set_pte(a, present) }\n set_pte(b, none)\n}"))
    // initial; the choice (2 states, one per branch); the write of a in each branch (2);
    // the write of b after each (2, a differs): 1 + 2 + 2 + 2.
    #expect(r.statistics.states == 7)
  }

  @Test(
    "direct-mode lazy write: queued state and flushed state differ (enter, set, leave: 4 states)")
  func lazyDirect() throws {
    let r = try check(
      spec(
        "cpu c0 {\n arch_enter_lazy_mmu_mode()\n set_pte(a, none)\n arch_leave_lazy_mmu_mode()\n}"))
    // initial, lazy, queued, and after leave; the early-flush action adds one state
    // (flushed but still lazy) and one transition into the final state.
    #expect(r.statistics.states == 5)
  }

  @Test("BFS finds the shortest deadlock")
  func shortestDeadlock() throws {
    let text = """
      mode native
      pte a = none
      pte b = none
      lock l1 protects a
      lock l2 protects b
      check deadlock_free
      expect fail deadlock_free
      cpu c0 { set_pte(a, none)
       set_pte(a, none)
       spin_lock(l1)
       spin_lock(l2)
       spin_unlock(l2)
       spin_unlock(l1) }
      cpu c1 { spin_lock(l2)
       spin_lock(l1)
       spin_unlock(l1)
       spin_unlock(l2) }
      """
    let r = try check(text)
    let c = try #require(r.result(.deadlockFree)?.counterexample)
    #expect(c.length == 4)  // two writes, then each CPU takes its first lock
    #expect(r.matchesExpectation)
  }

  @Test("a state limit stops the run and reports incomplete, never pass")
  func stateLimit() throws {
    let r = try check(
      spec(mode: "native", "cpu c0 {\n set_pte(a, none)\n set_pte(b, present)\n}"),
      limits: Limits(maxStates: 2))
    #expect(r.stopReason == .stateLimit(2))
    #expect(r.properties.allSatisfy { $0.status == .incomplete })
    #expect(!r.matchesExpectation)
  }

  @Test("a failure witnessed before a limit is final: the run matches its expectation")
  func failedBeforeTheLimit() throws {
    let text = spec(
      checks: "no_stale_read", expect: "fail no_stale_read",
      "cpu c0 {\n var x\n arch_enter_lazy_mmu_mode()\n set_pte(a, none)\n x = ptep_get(a)\n"
        + " arch_leave_lazy_mmu_mode()\n}")
    #expect(try check(text).statistics.states > 3)
    // The witness is found while expanding the 3rd state, which would store a 4th.
    let r = try check(text, limits: Limits(maxStates: 3))
    #expect(r.stopReason == .stateLimit(3))
    #expect(r.status(.noStaleRead) == .fail)
    #expect(r.matchesExpectation)
    let early = try check(text, limits: Limits(maxStates: 2))
    #expect(early.status(.noStaleRead) == .incomplete)
    #expect(!early.matchesExpectation)
  }

  @Test("a memory limit stops the run cleanly")
  func memoryLimit() throws {
    let r = try check(
      spec(mode: "native", "cpu c0 {\n set_pte(a, none)\n}"), limits: Limits(maxMemoryBytes: 1))
    #expect(r.stopReason == .memoryLimit(1))
    #expect(!r.matchesExpectation)
    // The machine's own limit stops it the same way, and says where the limit came from.
    var machine = Limits(maxMemoryBytes: 1)
    machine.memoryLimitIsMachine = true
    let m = try check(spec(mode: "native", "cpu c0 {\n set_pte(a, none)\n}"), limits: machine)
    #expect(m.stopReason == .machineMemoryLimit(1))
    #expect(m.stopReason?.message.contains("this machine's memory limit") == true)
    #expect(!m.matchesExpectation)
  }

  @Test("without --max-memory the limit is 3/5 of the smaller of the machine and its cgroup")
  func machineMemory() {
    let files = [
      "/proc/meminfo": "MemTotal:       24576000 kB\nMemFree:  100 kB\n",
      "/sys/fs/cgroup/memory.max": "8589934592\n",
    ]
    let gib = 1 << 30
    #expect(MachineMemory.defaultLimit { files[$0] } == Int(Double(8 * gib) * 0.6))
    // An unlimited cgroup ("max"): the physical memory.
    let unlimited = files.merging(["/sys/fs/cgroup/memory.max": "max\n"]) { $1 }
    #expect(MachineMemory.defaultLimit { unlimited[$0] } == Int(Double(24_576_000 * 1024) * 0.6))
    // cgroup v1, and nothing known at all.
    let v1 = ["/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824"]
    #expect(MachineMemory.defaultLimit { v1[$0] } == Int(Double(gib) * 0.6))
    #expect(MachineMemory.defaultLimit { _ in nil } == nil)
    // This machine: some limit, below its physical memory.
    let here = MachineMemory.defaultLimit()
    #expect(here != nil && here! < MachineMemory.physical { try? String(contentsOfFile: $0) }!)
  }

  @Test("runs are deterministic: same counts and same trace twice")
  func deterministic() throws {
    let text = try String(
      contentsOf: packageRoot.appendingPathComponent(
        "Specs/lazy-hooks/mprotect-leave-after-unlock.spec"), encoding: .utf8)
    let a = try check(text)
    let b = try check(text)
    #expect(a.statistics.states == b.statistics.states)
    #expect(a.statistics.transitions == b.statistics.transitions)
    guard case .run(let x)? = a.result(.noStaleRead)?.counterexample,
      case .run(let y)? = b.result(.noStaleRead)?.counterexample
    else {
      Issue.record("no counterexample")
      return
    }
    #expect(x == y)
  }

  @Test("a spec that releases a lock it does not hold at run time is a runtime fault")
  func runtimeFault() throws {
    let text = spec(
      mode: "native",
      "cpu c0 {\n var x\n x = ptep_get(b)\n if x { spin_lock(ptl) }\n spin_unlock(ptl)\n}")
    let r = try check(text)
    #expect(r.stopReason == .fault(.unlockNotHeld))
    #expect(!r.matchesExpectation)
  }

  @Test("a loop without a kernel operation is a runtime fault, not a hang")
  func localLoop() throws {
    let r = try check(
      spec(mode: "native", "cpu c0 {\n var x\n set_pte(a, none)\n loop { x = x ^ 1 }\n}"))
    #expect(r.stopReason == .fault(.localLoop))
  }

  @Test("a two-word state: steps that change only the second word are new states (15 states)")
  func multiWordState() throws {
    // Native mode, 4 PTEs: mem (4 x 8 bits) and logical (4 x 8) fill word 0 exactly, so
    // unowned, flushed and both program counters live in word 1 (fields never straddle).
    let text = """
      mode native
      pte a = none
      pte b = none
      pte c = none
      pte d = none
      hardware c0: read a
      check no_lost_dirty, deadlock_free
      expect pass
      cpu c0 {
        set_pte(a, present)
        set_pte(b, present)
      }
      cpu c1 {
        set_pte(c, none)
        set_pte(d, none)
      }
      """
    let r = try check(text)
    #expect(r.statistics.wordsPerState == 2)
    // c0 and c1 are independent. c0: pc 0 (a is none, so the hardware read faults and
    // changes nothing), then pc 1 and pc 2, each with a's Accessed bit clear or set by the
    // first read that walks a present a (later reads find it set: no change): 1 + 2 + 2 = 5.
    // c1 rewrites PTEs that are already none: only its pc moves, and the pc is in word 1;
    // pc 0, 1, 2: 3. Product: 5 x 3 = 15 states. (Comparing only word 0 would take each of
    // c1's steps for a self-loop and find 5.)
    #expect(r.statistics.states == 15)
    // Enabled actions summed over the states, self-loops included: c0 steps in its 3
    // states with pc < 2, times 3 (9); c1 steps in 2 of its 3 states, times 5 (10); the
    // hardware read in all 15 (it is always enabled). 9 + 10 + 15 = 34.
    #expect(r.statistics.transitions == 34)
    // The last state needs c0's two writes, the read and c1's two writes: depth 5.
    #expect(r.statistics.depth == 5)
    #expect(r.matchesExpectation)
  }

  @Test("a deadlock while hardware, TLB evictions and early flushes can still act")
  func deadlockWithEnvironment() throws {
    // c0 and c1 take the two locks in opposite orders. The hardware can always read a, c1's
    // TLB entry for a can always be evicted and refilled, and c0's queued write can be
    // flushed by the hypervisor: none of that moves a program, so the state where each
    // holds its first lock is still a deadlock.
    let text = """
      mode direct
      pte a = present | pfn(1)
      lock l1 protects a
      lock l2
      hardware c1: read a
      tlb c1: a
      check deadlock_free
      expect fail deadlock_free
      cpu c0 {
        arch_enter_lazy_mmu_mode()
        set_pte(a, present | pfn(2))
        spin_lock(l1)
        spin_lock(l2)
        spin_unlock(l2)
        spin_unlock(l1)
        arch_leave_lazy_mmu_mode()
      }
      cpu c1 {
        spin_lock(l2)
        spin_lock(l1)
        spin_unlock(l1)
        spin_unlock(l2)
      }
      """
    let r = try check(text)
    let c = try #require(r.result(.deadlockFree)?.counterexample)
    #expect(c.length == 4)  // enter, the queued write, then each CPU's first lock
    #expect(r.matchesExpectation)
  }
}

/// The one-thread loop runs two states behind (`BreadthFirst.pipelinedStep`): what it
/// records must be what a loop that stores each state's successors at once records.
@Suite struct PipelinedLoopTests {
  @Test("stopping at a stuck state: the states after it, expanded ahead, are not explored")
  func stopAtStuckState() {
    // 0 -> 1, 2, 3; 1 is stuck (a deadlock); 2 and 3 lead back to 0. The deadlock is
    // seen when state 1 is stored, after 2 and 3 were expanded ahead: the search stops
    // there, with 0's and 1's transitions counted, and not every state explored, although
    // nothing new is left.
    let edges = [(0, 1), (0, 2), (0, 3), (2, 0), (3, 0)].map {
      GraphSystem.Edge(from: $0.0, to: $0.1, process: 0, retry: false)
    }
    for threads in [1, 2] {
      var explorer = BreadthFirst(system: GraphSystem(edges: edges, processCount: 1))
      var limits = Limits()
      limits.threads = threads
      explorer.run(limits: limits, safetyBits: 1, deadlockBit: 1, needsFullGraph: false)
      let (witness, statistics) = (explorer.witnesses[1], explorer.statistics)
      let exploredAll = explorer.exploredAll
      #expect(witness == Witness(state: 1, action: nil), "\(threads) threads")
      #expect(statistics.states == 4)
      #expect(statistics.transitions == 3, "\(threads) threads")
      #expect(!exploredAll, "\(threads) threads")
    }
  }
}

/// The parallel search (`--threads N`) against the one-thread one, where it stops early.
@Suite struct ParallelExplorerTests {
  static let busy = spec(
    mode: "direct",
    """
    cpu c0 {
      var x
      repeat 3 {
        spin_lock(ptl)
        arch_enter_lazy_mmu_mode()
        x = ptep_get(a)
        set_pte(a, x ^ write)
        set_pte(b, x)
        arch_leave_lazy_mmu_mode()
        spin_unlock(ptl)
      }
    }
    cpu c1 {
      var x
      repeat 3 {
        spin_lock(ptl)
        x = ptep_get(b)
        set_pte(b, x ^ write)
        spin_unlock(ptl)
      }
    }
    """)

  func both(_ text: String, _ limits: Limits = Limits()) throws -> (CheckResult, CheckResult) {
    var two = limits
    two.threads = 2
    return (try check(text, limits: limits), try check(text, limits: two))
  }

  @Test("a state limit stops both at the same state, with the same counts")
  func stateLimit() throws {
    let (one, two) = try both(Self.busy, Limits(maxStates: 50))
    #expect(one.stopReason == .stateLimit(50) && two.stopReason == .stateLimit(50))
    #expect(one.statistics.states == two.statistics.states)
    #expect(one.statistics.transitions == two.statistics.transitions)
  }

  @Test("a runtime fault stops both at the same step")
  func fault() throws {
    // c1's third increment leaves the variable's range: a runtime fault.
    let text = Self.busy.replacingOccurrences(
      of: "    x = ptep_get(b)\n", with: "    x = ptep_get(b)\n    atomic_inc(n)\n"
    ).replacingOccurrences(of: "cpu c0 {", with: "global n: 0..2\ncpu c0 {")
    let (one, two) = try both(text)
    #expect(one.stopReason?.runtimeFault != nil)
    #expect(one.stopReason == two.stopReason)
    #expect(one.faultRun == two.faultRun)
    #expect(one.statistics.transitions == two.statistics.transitions)
  }

  @Test("the full graph and its verdicts are the same")
  func full() throws {
    let (one, two) = try both(Self.busy)
    #expect(one.statistics.states > 100)
    #expect(one.statistics.states == two.statistics.states)
    #expect(one.statistics.transitions == two.statistics.transitions)
    #expect(one.properties.map { "\($0.status)" } == two.properties.map { "\($0.status)" })
  }
}
