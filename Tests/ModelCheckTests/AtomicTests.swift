import Testing

@testable import ModelCheck

/// `atomic { ... }` (SPIN's `d_step`): a block of statements that runs as one step. Each
/// meaning on specs small enough to count by hand.
@Suite struct AtomicTests {
  /// Two CPUs, each writing two PTEs of its own: with `block` "atomic" each CPU's two
  /// writes are one step.
  static func twoWriters(_ block: String) -> String {
    """
    mode native
    pte a = none
    pte b = none
    pte c = none
    pte d = none
    check deadlock_free
    expect pass
    cpu cpu0 {
      \(block) {
        set_pte(a, present | pfn(1))
        set_pte(b, present | pfn(1))
      }
    }
    cpu cpu1 {
      \(block) {
        set_pte(c, present | pfn(2))
        set_pte(d, present | pfn(2))
      }
    }
    """
  }

  @Test("two CPUs with two writes each: 9 states and 12 transitions, 4 and 4 with atomic")
  func counts() throws {
    // Without atomic, a state is the pair of pcs (0...2 each): a 3 x 3 grid, each step one
    // edge of it. With atomic, each CPU is before or after its block: 2 x 2, 4 edges.
    let plain = try check(Self.twoWriters("if 1"))
    #expect(plain.statistics.states == 9 && plain.statistics.transitions == 12)
    let atomic = try check(Self.twoWriters("atomic"))
    #expect(atomic.statistics.states == 4 && atomic.statistics.transitions == 4)
    #expect(atomic.matchesExpectation)
  }

  @Test("a spec without atomic blocks does not take the atomic path")
  func noBlocks() throws {
    let p = try compile(Self.twoWriters("if 1")).get()
    #expect(p.atomicBlocks.isEmpty && !p.hasAtomic)
    let q = try compile(Self.twoWriters("atomic")).get()
    #expect(q.atomicBlocks.map(\.pcs) == [0..<2, 0..<2])
    #expect(q.atomicBlocks.map(\.source.start.line) == [9, 15])
  }

  /// One CPU moves a mapping from `a` to `b` in two writes; the invariant says exactly one
  /// of them maps it.
  static func move(_ block: String, expect: String) -> String {
    """
    mode native
    pte a = present | pfn(1)
    pte b = none
    invariant one_mapping: pte_present(a) != pte_present(b)
    check invariant
    expect \(expect)
    cpu cpu0 {
      \(block) {
        set_pte(b, present | pfn(1))
        set_pte(a, none)
      }
    }
    cpu cpu1 {
      var x
      x = ptep_get(a)
    }
    """
  }

  @Test("an invariant false between two writes fails without atomic and holds with it")
  func invariantBetweenWrites() throws {
    let plain = try check(Self.move("if 1", expect: "fail invariant"))
    #expect(plain.status(.invariant) == .fail && plain.matchesExpectation)
    let atomic = try check(Self.move("atomic", expect: "pass"))
    #expect(atomic.status(.invariant) == .pass && atomic.matchesExpectation)
  }

  @Test("nested blocks are one block, and a block may be in an inlined function")
  func nestedAndInlined() throws {
    let flat = try check(Self.twoWriters("atomic"))
    let nested = try check(
      Self.twoWriters("atomic").replacingOccurrences(
        of: "set_pte(b, present | pfn(1))", with: "atomic { set_pte(b, present | pfn(1)) }"))
    #expect(nested.statistics.states == flat.statistics.states)
    #expect(nested.statistics.transitions == flat.statistics.transitions)
    let inlined = """
      mode native
      pte a = present | pfn(1)
      pte b = none
      invariant one_mapping: pte_present(a) != pte_present(b)
      check invariant
      expect pass
      fn move_it() {
        atomic {
          set_pte(b, present | pfn(1))
          set_pte(a, none)
        }
      }
      cpu cpu0 { move_it() }
      cpu cpu1 {
        var x
        x = ptep_get(a)
      }
      """
    let r = try check(inlined)
    #expect(r.program.atomicBlocks.count == 1)
    #expect(r.status(.invariant) == .pass && r.matchesExpectation)
  }

  @Test("the events of a later statement of a block count for its step")
  func laterEventsCount() throws {
    let r = try check(
      spec(
        mode: "native", checks: "assertions", expect: "fail assertions",
        """
        cpu cpu0 {
          var x
          atomic {
            set_pte(a, none)
            x = ptep_get(a)
            assert(pte_present(x))
            set_pte(b, none)
          }
        }
        """))
    #expect(r.status(.assertions) == .fail && r.matchesExpectation)
    let p = try #require(r.result(.assertions))
    let trace = Trace(program: r.program, counterexample: try #require(p.counterexample))
    #expect(trace.steps.count == 1)
  }

  @Test("a block in a retry loop ends where control leaves it: a failed cmpxchg is a retry")
  func blockInRetryLoop() throws {
    // With bound 0, one retry fails the property: cpu1's write makes the first cmpxchg
    // fail, and the loop comes back to the block in a step of its own.
    let r = try check(
      """
      mode native
      pte a = present | pfn(1)
      check cmpxchg_terminates bound 0
      expect fail cmpxchg_terminates
      cpu cpu0 {
        var old, seen
        old = ptep_get(a)
        loop {
          atomic { seen = cmpxchg(a, old, pte_mkdirty(old)) }
          if seen == old { break }
          old = seen
        }
      }
      cpu cpu1 { set_pte(a, present | pfn(2)) }
      """)
    #expect(r.status(.cmpxchgTerminates) == .fail && r.matchesExpectation)
  }

  static let blocked = """
    mode native
    pte a = none
    lock l protects a
    check no_bug
    expect pass
    cpu cpu0 {
      spin_lock(l)
      set_pte(a, present | pfn(1))
      spin_unlock(l)
    }
    cpu cpu1 {
      atomic {
        set_pte(a, none)
        spin_lock(l)
        spin_unlock(l)
      }
    }

    """

  @Test("a lock blocked inside a block is a runtime fault at its statement")
  func blockedInside() throws {
    let r = try check(Self.blocked)
    let fault = try #require(r.stopReason?.runtimeFault)
    #expect(fault == .blockedInAtomic)
    let run = try #require(r.faultRun)
    let text = DiagnosticRenderer.render(
      FaultReport.diagnostic(r.program, run: run, fault: fault), in: r.file)
    #expect(text.hasPrefix("test.spec:14:5: error: a program blocked inside an atomic block"))
    #expect(text.contains("inside the atomic block at line 12"), "\(text)")
  }

  @Test("the blocked lock through the executable: exit 2, at the line")
  func blockedInsideCLI() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("blocked.spec", Self.blocked)
    let r = try CommandLineTests.run(["--no-traces", path])
    #expect(r.code == 2, "\(r.out)")
    #expect(r.err.hasPrefix("\(path):14:5: error: a program blocked inside an atomic block"))
  }

  @Test(
    "choices, loops and reached points inside a block are errors",
    arguments: [
      ("either { set_pte(a, none) } or { }", "'either' inside an atomic block"),
      ("var ok\n ok = pt_alloc(g)", "'pt_alloc' inside an atomic block"),
      ("var ok\n ok = pmd_alloc(g)", "'pmd_alloc' inside an atomic block"),
      ("loop { set_pte(a, none) }", "'loop' inside an atomic block"),
      ("cover", "'cover' inside an atomic block"),
      ("reachable(1)", "'reachable' inside an atomic block"),
      ("f()", "'break' inside an atomic block"),
    ])
  func staticErrors(_ body: String, _ message: String) {
    let text = spec(
      mode: "native", header: "ptpage g\nfn f() { repeat 2 { break } }", checks: "no_bug",
      "cpu cpu0 {\n atomic {\n \(body)\n }\n}")
    let e = errors(text)
    #expect(e.contains("error: \(message) [sema.in-atomic]"), "\(e)")
  }

  @Test("a trace shows a block's step as one row with the statements it ran")
  func traceRow() throws {
    let r = try check(
      Self.move("atomic", expect: "pass").replacingOccurrences(
        of: "set_pte(a, none)", with: "set_pte(a, present | pfn(2))"))
    let p = try #require(r.result(.invariant))
    let trace = Trace(program: r.program, counterexample: try #require(p.counterexample))
    #expect(trace.steps.count == 1)
    let step = try #require(trace.steps.first)
    #expect(
      step.operation == "atomic { set_pte(b, present | pfn(1)); set_pte(a, present | pfn(2)) }")
    #expect(step.location?.start.line == 9)
    #expect(step.effects.first == "atomic block (line 8): one step runs lines 9, 10")
    let json = JSONReport.counterexample(p, trace, r).serialized()
    #expect(json.contains("atomic { set_pte(b"), "\(json)")
  }

  /// cpu0 moves the mapping; its interrupt handler reads both PTEs and asserts one maps.
  static func handler(_ block: String, expect: String) -> String {
    """
    mode native
    pte a = present | pfn(1)
    pte b = none
    check assertions
    expect \(expect)
    cpu cpu0 {
      \(block) {
        set_pte(a, none)
        set_pte(b, present | pfn(1))
      }
    }
    interrupt irq0 on cpu0 {
      var x, y
      x = ptep_get(a)
      y = ptep_get(b)
      assert(pte_present(x) || pte_present(y))
    }
    """
  }

  @Test("no interrupt fires inside a block on its CPU")
  func interruptOnSameCPU() throws {
    let plain = try check(Self.handler("if 1", expect: "fail assertions"))
    #expect(plain.status(.assertions) == .fail && plain.matchesExpectation)
    let atomic = try check(Self.handler("atomic", expect: "pass"))
    #expect(atomic.status(.assertions) == .pass && atomic.matchesExpectation)
  }

  /// cpu1 moves the mapping in two steps; a handler on cpu0 reads `b`, then `a`.
  static func handlerReads(_ block: String, expect: String) -> String {
    """
    mode native
    pte a = present | pfn(1)
    pte b = none
    check assertions
    expect \(expect)
    cpu cpu0 {}
    cpu cpu1 {
      set_pte(b, present | pfn(1))
      set_pte(a, none)
    }
    interrupt irq0 on cpu0 {
      var x, y
      \(block) {
        y = ptep_get(b)
        x = ptep_get(a)
      }
      assert(pte_present(x) || pte_present(y))
    }
    """
  }

  @Test("a block in an interrupt handler runs as one step there")
  func blockInHandler() throws {
    let plain = try check(Self.handlerReads("if 1", expect: "fail assertions"))
    #expect(plain.status(.assertions) == .fail && plain.matchesExpectation)
    let atomic = try check(Self.handlerReads("atomic", expect: "pass"))
    #expect(atomic.status(.assertions) == .pass && atomic.matchesExpectation)
  }
}
