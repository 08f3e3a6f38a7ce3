import PTState
import Testing

@testable import ModelCheck

/// Partial-order and symmetry reduction: fewer states, the same verdicts, shortest
/// counterexamples, and symmetry only where the programs really are interchangeable.
@Suite struct ReductionTests {
  static let unreduced: Limits = {
    var l = Limits()
    l.partialOrder = false
    l.symmetry = false
    return l
  }()

  /// Two (or three) CPUs running the same locked read-modify-write of `a`, with their
  /// hardware on `a`; `body` replaces the update when given.
  static func twins(
    cpus: Int = 2, body: String? = nil, extra: [Int: String] = [:], checks: String? = nil,
    expect: String = "pass", header: String = ""
  ) -> String {
    var text = """
      mode direct
      pte a = present | write | pfn(1)
      lock ptl protects a
      \(header)
      check \(checks ?? "no_stale_read, no_lost_dirty, deadlock_free")
      expect \(expect)

      """
    for c in 0..<cpus { text += "hardware cpu\(c): read a, write a\n" }
    for c in 0..<cpus {
      let update =
        body ?? """
            spin_lock(ptl)
            arch_enter_lazy_mmu_mode()
            either {
              old = ptep_modify_prot_start(a)
              ptep_modify_prot_commit(a, pte_wrprotect(old))
            } or {
              old = ptep_modify_prot_start(a)
              ptep_modify_prot_commit(a, pte_mkwrite(old))
            }
            arch_leave_lazy_mmu_mode()
            spin_unlock(ptl)
          """
      text += "cpu cpu\(c) {\n  var old\n\(update)\n\(extra[c] ?? "")}\n"
    }
    return text
  }

  @Test("identical CPUs are one class: about half the states, the same verdicts")
  func symmetricPass() throws {
    let text = Self.twins()
    let full = try check(text, limits: Self.unreduced)
    var limits = Limits()
    limits.partialOrder = false
    let symmetric = try check(text, limits: limits)
    #expect(full.matchesExpectation && symmetric.matchesExpectation)
    #expect(symmetric.statistics.symmetry && !full.statistics.symmetry)
    #expect(symmetric.program.symmetry?.groups.map { $0.map(\.program) } == [[0, 1]])
    // Every state but the symmetric ones (both CPUs alike) has a twin.
    #expect(symmetric.statistics.states * 2 > full.statistics.states)
    #expect(symmetric.statistics.states * 3 < full.statistics.states * 2)
    let three = try check(Self.twins(cpus: 3), limits: limits)
    let threeFull = try check(Self.twins(cpus: 3), limits: Self.unreduced)
    #expect(three.statistics.states * 4 < threeFull.statistics.states)
    #expect(TextReport.summary(symmetric).contains("symmetry: cpu0, cpu1 interchangeable"))
  }

  @Test("a run rebuilt from representatives is a real run: it replays to a finished state")
  func symmetricRunReplays() throws {
    let result = try check(Self.twins(cpus: 3))
    let run = try #require(result.completeRun)
    let program = result.program
    #expect(result.statistics.symmetry && !run.isEmpty)
    withScratchStates(wordCount: program.wordCount) { s in
      _ = program.writeInitialState(s[0])
      for a in run { #expect(program.apply(a, to: s[0]).enabled) }
      #expect(program.isFinished(s[0].view))
    }
  }

  @Test("a failure found with the reductions has the unreduced shortest counterexample")
  func shortestCounterexample() throws {
    // Unlocking before leaving lazy mode: the other CPU reads a stale PTE.
    let buggy = """
        spin_lock(ptl)
        arch_enter_lazy_mmu_mode()
        old = ptep_modify_prot_start(a)
        ptep_modify_prot_commit(a, pte_wrprotect(old))
        spin_unlock(ptl)
        arch_leave_lazy_mmu_mode()
      """
    let text = Self.twins(
      cpus: 3, body: buggy, checks: "no_stale_read", expect: "fail no_stale_read")
    let full = try check(text, limits: Self.unreduced)
    let reduced = try check(text)
    #expect(full.matchesExpectation && reduced.matchesExpectation)
    #expect(reduced.statistics.symmetry && reduced.statistics.counterexamplesUnreduced)
    let a = try #require(full.result(.noStaleRead)?.counterexample)
    let b = try #require(reduced.result(.noStaleRead)?.counterexample)
    #expect(a.length == b.length)
    #expect(TextReport.summary(reduced).contains("counterexamples: from the search without"))
  }

  @Test(
    "programs that differ are not interchangeable",
    arguments: [
      // Different code.
      twins(extra: [1: "  old = ptep_get(a)\n"]),
      // Different hardware.
      twins().replacingOccurrences(
        of: "hardware cpu1: read a, write a", with: "hardware cpu1: read a"),
      // A CPU's own number.
      twins(extra: [0: "  old = smp_processor_id()\n", 1: "  old = smp_processor_id()\n"]),
      // A named CPU's copy of a variable.
      twins(
        extra: [0: "  this_cpu_write(x, true)\n", 1: "  this_cpu_write(x, true)\n"],
        checks: "invariant", expect: "fail invariant",
        header: "percpu x: bool = false\ninvariant x_off: !per_cpu(x, cpu0)"),
    ])
  func asymmetric(_ text: String) throws {
    let program = try Pipeline.compile(SourceFile(path: "t.spec", text: text))
    #expect(program.symmetry == nil)
  }

  @Test("per-CPU variables written through this_cpu_* stay symmetric")
  func perCPUVariables() throws {
    let text = Self.twins(
      extra: [0: "  this_cpu_write(x, true)\n", 1: "  this_cpu_write(x, true)\n"],
      header: "percpu x: bool = false")
    let program = try Pipeline.compile(SourceFile(path: "t.spec", text: text))
    #expect(program.symmetry != nil)
    let full = try check(text, limits: Self.unreduced)
    let reduced = try check(text)
    #expect(full.matchesExpectation && reduced.matchesExpectation)
    #expect(reduced.statistics.states < full.statistics.states)
  }

  @Test("a representative does not depend on which twin is which")
  func canonicalIsCanonical() throws {
    let program = try Pipeline.compile(SourceFile(path: "t.spec", text: Self.twins(cpus: 3)))
    let symmetry = try #require(program.symmetry)
    let layout = program.machine.layout
    let w = program.wordCount
    withScratchStates(wordCount: w, count: 3) { s in
      // A state where cpu1 holds the lock and is lazy, and cpu2 wrote `a` last.
      _ = program.writeInitialState(s[0])
      s[0][layout.pc[1]] = 3
      s[0][layout.lazy[1]] = 1
      s[0][layout.lockHolder[0]] = 2
      s[0][layout.pc[2]] = 7
      s[1].copy(from: s[0].view)
      program.machine.canonicalize(s[1], symmetry)
      // The same state with cpu1 and cpu2 renamed to cpu0 and cpu1.
      _ = program.writeInitialState(s[2])
      s[2][layout.pc[0]] = 3
      s[2][layout.lazy[0]] = 1
      s[2][layout.lockHolder[0]] = 1
      s[2][layout.pc[1]] = 7
      program.machine.canonicalize(s[2], symmetry)
      #expect(s[1].view.equals(s[2].view))
      // The lock's holder was renamed with its program.
      let holder = Int(s[1][layout.lockHolder[0]]) - 1
      #expect(s[1][layout.pc[holder]] == 3 && s[1][layout.lazy[holder]] == 1)
      // Canonical twice is canonical once.
      s[2].copy(from: s[1].view)
      program.machine.canonicalize(s[2], symmetry)
      #expect(s[1].view.equals(s[2].view))
    }
  }

  @Test("twins alike in their own fields are ordered by the locks they hold, the PTEs they wrote")
  func canonicalTieBreak() throws {
    // `no_lost_update` keeps each PTE's last writer.
    let text = Self.twins(cpus: 3, checks: "no_stale_read, no_lost_update")
    let program = try Pipeline.compile(SourceFile(path: "t.spec", text: text))
    let symmetry = try #require(program.symmetry)
    let layout = program.machine.layout
    let writer = try #require(layout.lastWriter.first { $0.mask != 0 })
    withScratchStates(wordCount: program.wordCount, count: 2) { s in
      // Every program at its start; only who holds the lock (then who wrote `a` last)
      // differs, so the in-order check must look past the members' own fields.
      for (field, holder) in [(layout.lockHolder[0], 1), (layout.lockHolder[0], 3), (writer, 2)] {
        var representatives: [[UInt64]] = []
        for renamed in [holder, holder % 3 + 1] {
          _ = program.writeInitialState(s[0])
          s[0][field] = UInt64(renamed)
          program.machine.canonicalize(s[0], symmetry)
          representatives.append((0..<program.wordCount).map { s[0][word: $0] })
        }
        #expect(representatives[0] == representatives[1])
      }
    }
  }

  @Test("a local step is taken alone: fewer states, the same verdicts, --threads 2 alike")
  func partialOrder() throws {
    // cpu0's choice and its enter are local; cpu1 works on b meanwhile.
    let text = """
      mode direct
      pte a = present | write | pfn(1)
      pte b = present | write | pfn(2)
      lock pa protects a
      lock pb protects b
      hardware cpu0: read a, write a
      hardware cpu1: read b, write b
      check no_stale_read, no_lost_dirty, deadlock_free
      expect pass

      cpu cpu0 {
        var old
        either { old = 1 } or { old = 2 }
        spin_lock(pa)
        arch_enter_lazy_mmu_mode()
        old = ptep_modify_prot_start(a)
        ptep_modify_prot_commit(a, pte_wrprotect(old))
        arch_leave_lazy_mmu_mode()
        spin_unlock(pa)
      }
      cpu cpu1 {
        var old
        spin_lock(pb)
        arch_enter_lazy_mmu_mode()
        old = ptep_modify_prot_start(b)
        ptep_modify_prot_commit(b, pte_wrprotect(old))
        arch_leave_lazy_mmu_mode()
        spin_unlock(pb)
      }
      """
    let full = try check(text, limits: Self.unreduced)
    let reduced = try check(text)
    #expect(full.matchesExpectation && reduced.matchesExpectation)
    #expect(reduced.statistics.reducedStates > 0)
    #expect(reduced.statistics.states < full.statistics.states)
    var two = Limits()
    two.threads = 2
    let parallel = try check(text, limits: two)
    #expect(
      [
        parallel.statistics.states, parallel.statistics.transitions,
        parallel.statistics.reducedStates,
      ]
        == [
          reduced.statistics.states, reduced.statistics.transitions,
          reduced.statistics.reducedStates,
        ])
  }

  @Test("--coverage counts every transition: no reduction then")
  func coverageIsUnreduced() throws {
    let text = Self.twins()
    let file = SourceFile(path: "t.spec", text: text)
    let program = try Pipeline.compile(file)
    let counted = Pipeline.check(program, file: file, coverage: true)
    let full = Pipeline.check(program, file: file, limits: Self.unreduced)
    #expect(!counted.statistics.reduced)
    #expect(counted.statistics.states == full.statistics.states)
  }

  @Test("a livelock that needs both twins to write is found with symmetry, and confirmed")
  func symmetricLivelock() throws {
    // Two identical unlocked writers: a fair cycle of the full graph has both write; in the
    // representatives' graph the one that writes may always be the same member.
    var text = """
      mode direct
      pte a = present | write | pfn(1)
      lock page_lock
      check cmpxchg_terminates
      expect fail cmpxchg_terminates

      cpu xen {
        var old, seen
        spin_lock(page_lock)
        old = ptep_get(a)
        loop {
          seen = cmpxchg(a, old, pte_wrprotect(old))
          if seen == old { break }
          old = seen
        }
        spin_unlock(page_lock)
      }

      """
    for c in 0..<2 {
      text += """
        cpu cpu\(c) {
          loop {
            set_pte(a, present | pfn(2))
            set_pte(a, present | write | pfn(1))
          }
        }

        """
    }
    let program = try Pipeline.compile(SourceFile(path: "t.spec", text: text))
    #expect(program.symmetry?.groups.map { $0.map(\.program) } == [[1, 2]])
    var symmetric = Self.unreduced
    symmetric.symmetry = true
    let file = SourceFile(path: "t.spec", text: text)
    let reduced = Pipeline.check(program, file: file, limits: symmetric)
    let full = Pipeline.check(program, file: file, limits: Self.unreduced)
    #expect(full.status(.cmpxchgTerminates) == .fail)
    #expect(reduced.status(.cmpxchgTerminates) == .fail)
    // The counterexample is the full graph's lasso.
    #expect(reduced.statistics.counterexamplesUnreduced)
    #expect(
      reduced.result(.cmpxchgTerminates)?.counterexample?.length
        == full.result(.cmpxchgTerminates)?.counterexample?.length)
  }

  @Test("a cycle of local steps does not hide another program's step (the cycle proviso)")
  func cycleProviso() throws {
    // cpu0 cycles through two local choices forever; cpu1's BUG_ON must still be reached.
    let text = """
      mode direct
      pte a = present | pfn(1)
      global seen: bool = false
      check no_bug
      expect fail no_bug

      cpu cpu0 {
        var x
        loop {
          x = 1
          either { x = 2 } or { x = 3 }
          either { x = 4 } or { x = 5 }
        }
      }
      cpu cpu1 {
        var t
        t = READ_ONCE(seen)
        BUG_ON(t == 0)
      }
      """
    let full = try check(text, limits: Self.unreduced)
    let reduced = try check(text)
    #expect(full.status(.noBug) == .fail)
    #expect(reduced.status(.noBug) == .fail)
    #expect(reduced.statistics.reducedStates > 0)
  }

  @Test("a variable an invariant reads is not local, even when only one program writes it")
  func invariantVariable() throws {
    let text = """
      mode direct
      pte a = present | pfn(1)
      global x: bool = false
      global y: bool = false
      invariant not_both: !(x && y)
      check invariant
      expect fail invariant

      cpu cpu0 {
        WRITE_ONCE(x, true)
        WRITE_ONCE(x, false)
      }
      cpu cpu1 {
        WRITE_ONCE(y, true)
        WRITE_ONCE(y, false)
      }
      """
    let program = try Pipeline.compile(SourceFile(path: "t.spec", text: text))
    #expect(!program.offersLocalSteps)
    let reduced = try check(text)
    #expect(reduced.status(.invariant) == .fail)
  }

  @Test("a runtime fault found with the reductions has the unreduced shortest run")
  func shortestFaultRun() throws {
    // Each twin may call preempt_enable() without preempt_disable(), after a choice (a
    // local step) and a locked section.
    let body = """
        either { old = 1 } or { old = 2 }
        spin_lock(ptl)
        spin_unlock(ptl)
        if old == 2 { preempt_enable() }
      """
    let text = Self.twins(body: body)
    let full = try check(text, limits: Self.unreduced)
    let reduced = try check(text)
    let (a, b) = (try #require(full.faultRun), try #require(reduced.faultRun))
    #expect(reduced.statistics.reduced && reduced.statistics.counterexamplesUnreduced)
    #expect(a == b)
  }
}
