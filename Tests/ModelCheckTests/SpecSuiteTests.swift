import Foundation
import Testing

@testable import ModelCheck

/// What a spec's run must reproduce exactly: the exploration's counts without the reductions
/// (`--no-por --no-symmetry`) and with them (`reduced`: states, transitions, depth), and per
/// failing property its counterexample's length and whether it is a lasso (the same in
/// both: the reduced run takes them from a search without the reduction).
struct SpecPin: Sendable {
  var states: Int
  var transitions: Int
  var depth: Int
  var reduced: [Int]
  var counterexamples: [PropertyKind: (Int, Bool)]
}

/// Every spec under Specs/ is a test: its verdicts must match the `expect` it declares.
/// Its state, transition and depth counts and the shape of each counterexample (the
/// property, its length, and whether it is a lasso) are pinned in SpecCounts.swift, so a
/// change in the semantics shows up here.
@Suite struct SpecSuiteTests {
  static let specFiles: [String] = {
    let root = packageRoot.appendingPathComponent("Specs").path
    let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
    return files.filter { $0.hasSuffix(".spec") }.sorted()
  }()

  /// The start of the `why:` sentence of every failing property of every spec, keyed
  /// `spec#property`: the actor must be the right one (a CPU's hardware is not its program;
  /// a physical CPU is not the program with the same index) and the cause the right one.
  /// Regenerate by hand from `modelcheck --no-traces Specs/` when a sentence changes on
  /// purpose.
  static let whyStarts: [String: String] = [
    "apply-to-page-range/callback-reads-back.spec#no_stale_read":
      "cpu0 read pte k0 back inside its lazy section and saw none, but",
    "backends/arm64-switch-no-dsb.spec#no_stale_read":
      "t0 used the mapping of pte k0 (line 22) on cpu1, but its own write of present|write|pfn(4) "
      + "to it is still queued in cpu0's batch, left behind when the scheduler moved t0 to cpu1 "
      + "after the write (",
    "backends/x86-native-get-and-clear-up.spec#no_lost_dirty":
      "cpu1's hardware set dirty on pte a, then cpu0's write (",
    // The rest of these two (after the library's path) is pinned in TLBBatchTests.
    "backends/powerpc-hash-enter-no-preempt.spec#no_stale_tlb":
      "cpu2 still used its TLB entry for pte k0 (present|write|pfn(1)) after t0 changed the PTE "
      + "to none (",
    "backends/sparc64-leave-no-flush.spec#no_stale_tlb":
      "cpu1 still used its TLB entry for pte old (present|write|pfn(1)) after cpu0 changed the PTE "
      + "to none (",
    "copy-pte-range/two-ptls-opposite-order.spec#deadlock_free":
      "cpu0 waits for src_ptl held by cpu1, and cpu1 waits for dst_ptl",
    "kernel-state/flag-lock-check-then-set.spec#invariant":
      "invariant mutual_exclusion (line 11) is false after step 6: per_cpu(in_cs, cpu0) = true",
    "kernel-state/nesting-disable-twice.spec#no_warn":
      "cpu0 reached VM_WARN_ON_ONCE(n == 0) (",
    "kernel-state/smp-processor-id-preemptible.spec#assertions":
      "t0 on cpu1 reached assert(first == again) (line 19) with first = 0, again = 1",
    "kernel-state/xen-set-pte-issued-after-unlock.spec#no_stale_read":
      "cpu1 read pte a under ptl and saw present|pfn(1), but cpu0 had already written",
    "kernel-state/xen-enter-lazy-in-interrupt.spec#no_bug":
      "irq0 on cpu0 reached BUG_ON(cur != XEN_LAZY_NONE) (line 18) with cur = XEN_LAZY_MMU",
    "kernel-state/xen-switch-hooks-current.spec#no_stale_read":
      "t1 read pte k1 back (line 53) and saw none, but its write of present|pfn(5) (",
    "backends/powerpc-hash-leave-no-flush.spec#no_stale_tlb":
      "cpu2 still used its TLB entry for pte k0 (present|write|pfn(1)) after t0 changed the PTE "
      + "to none (",
    "nesting/set-ptes-nested-disable-no-flush.spec#no_stale_read":
      "cpu0 read pte b back inside its lazy section and saw none, but it had written "
      + "present|pfn(2) (line 36), which is still queued in its own batch",
    "kernel-state/xen-nesting-preempted-enter.spec#no_bug":
      "t0 on cpu0 reached BUG_ON(cur != XEN_LAZY_NONE) (",
    "kernel-state/xen-switch-hooks-current.spec#no_bug":
      "t0 on cpu1 reached BUG_ON(cur != mode) (",
    "kernel-state/xcall-flush-tlb-pending-nowait.spec#no_stale_tlb":
      "cpu1 still used its TLB entry for pte old (present|write|pfn(1)) after cpu0 changed the "
      + "PTE to none (line 25) and released ptl (line 28) before the TLB flush completed: cpu0 "
      + "cross-called tlb_pending_func on cpu1 without waiting (wait = 0, line 26)",
    "full-mm-teardown/zap-live-mm-native.spec#no_lost_dirty":
      "cpu0's ptep_get_and_clear_full(a, 1) (line 18) read the PTE and",
    "full-mm-teardown/zap-live-mm-shadow.spec#no_lost_dirty":
      "cpu1's hardware set dirty through a stale shadow entry of pte a",
    "interrupts/handler-lazy-by-accident.spec#no_stale_read":
      "irq0, an interrupt handler, used the mapping of pte kmap (line",
    "kmap-atomic/kmap-in-lazy-section.spec#no_stale_read":
      "cpu0 used the mapping of pte kmap (line 25) right after writing",
    "lazy-hooks/mprotect-leave-after-unlock.spec#no_lost_update":
      "cpu1 wrote pte a (line 34) on the strength of its read (line",
    "lazy-hooks/mprotect-leave-after-unlock.spec#no_stale_read":
      "cpu1 read pte a under ptl and saw present|pfn(1), but cpu0 had",
    "nesting/set-ptes-flag-hooks.spec#lazy_nesting":
      "cpu0 entered lazy mode (line 21) while already in it: the",
    "pae/pud-populate-no-reload.spec#no_stale_tlb":
      "cpu1 walked pte a through its cached top-level entry g1 (none),",
    "preemption/per-cpu-lazy-migration.spec#no_stale_read":
      "t0 read pte k0 (line 22) on cpu1 and saw none, but its own",
    "prot-rmw/mprotect-plain-rmw.spec#no_lost_dirty":
      "cpu1's hardware set dirty on pte a, then cpu0's write (line 18)",
    "pt-lifetime/pgd-alloc-failure-leaks-pmds.spec#no_pt_leak":
      "every program has finished, but page-table page pmd0 is still",
    "pt-lifetime/pgd-free-without-mop-up.spec#no_pt_leak":
      "every program has finished, but page-table page pmd1 is still",
    "read-hazard/read-back-direct.spec#no_stale_read":
      "cpu0 read pte a back inside its lazy section and saw",
    "regress/blind-installs-under-ptl.spec#no_lost_update":
      "cpu1 wrote pte a (line 19) without looking at it, over cpu0's",
    "regress/busy-wait-holding-lock.spec#deadlock_free":
      "cpu0 spins in its loop (line 17) and nothing it looks at can",
    "regress/busy-wait-holding-lock.spec#terminates":
      "cpu0 and cpu1 never finish: a fair scheduler can repeat the",
    "regress/clean-without-tlb-flush.spec#no_lost_dirty":
      "cpu1's hardware stored through its TLB entry for pte a",
    "regress/enter-before-lock.spec#lazy_balanced":
      "cpu0 released ptl (line 16) while its write of pte a was still",
    "regress/ipi-target-in-handler.spec#deadlock_free":
      "cpu0 waits in flush_tlb_wait(a) for the shootdown IPI it sent,",
    "regress/ipi-target-irqs-off.spec#deadlock_free":
      "cpu0 waits in flush_tlb_wait(a) for the shootdown IPI it sent,",
    "regress/kmap-slot-reused-without-flush.spec#no_stale_read":
      "cpu0 used its TLB entry for pte kmap",
    "regress/lone-handler-read-back.spec#no_stale_read":
      "h read pte a back inside its lazy section and saw",
    "regress/outer-loop-retry-livelock.spec#cmpxchg_terminates":
      "cpu0's cmpxchg loop (line 13) can fail forever: in the",
    "regress/resume-underflow.spec#lazy_nesting":
      "cpu0 called lazy_mmu_mode_resume() (line 12) with pause_count",
    "regress/shootdown-started-before-clear.spec#no_stale_tlb":
      "cpu1 still used its TLB entry for pte a",
    "regress/why-bare-cpu-hardware-lost-dirty.spec#no_lost_dirty":
      "cpu1's hardware set dirty on pte a, then cpu0's write (line 16)",
    "regress/why-lost-dirty-context-switch.spec#no_lost_dirty":
      "b0's hardware set dirty on pte a, then the hypervisor's early",
    "regress/why-lost-dirty-setter-bare-cpu.spec#no_lost_dirty":
      "b's hardware set dirty on pte a, then c0's write (line 12)",
    "regress/why-lost-update-early-flush.spec#no_lost_update":
      "t0's batched write to pte a (line 21) landed as present|pfn(1) over t1's newer write of "
      + "present|pfn(3) (line 28), which is lost, when the hypervisor flushed b2's batch early",
    "regress/why-shadow-lost-dirty-bare-cpu.spec#no_lost_dirty":
      "b's hardware set dirty through a stale shadow entry of pte a",
    "regress/why-stale-read-walk-bare-cpu.spec#no_stale_read":
      "b's hardware walked pte a after a TLB flush and saw",
    "regress/why-stale-tlb-bare-cpu-before-program.spec#no_stale_tlb":
      "cpu1 still used its TLB entry for pte old",
    "regress/why-stale-tlb-bare-cpu-first.spec#no_stale_tlb":
      "b still used its TLB entry for pte a (present|write|pfn(1))",
    "regress/why-stale-tlb-bare-cpu.spec#no_stale_tlb":
      "b still used its TLB entry for pte a (present|write|pfn(1))",
    "semantics/atomic-block-split.spec#invariant":
      "invariant mapped_once (line 9) is false after step 1: a = none",
    "semantics/deadlock-with-hardware.spec#deadlock_free":
      "cpu0 waits for lb held by cpu1, and cpu1 waits for la held by",
    "semantics/ends-in-lazy-mode.spec#lazy_balanced":
      "cpu0's program ends in lazy mode: arch_leave_lazy_mmu_mode() is",
    "semantics/self-loop-livelock.spec#cmpxchg_terminates":
      "cpu0's cmpxchg loop (line 12) can fail forever: in the",
    "semantics/shadow-walk-stale.spec#no_stale_read":
      "cpu1's hardware walked pte a after a TLB flush and saw",
    "semantics/walk-after-remote-flush.spec#no_stale_read":
      "cpu1's hardware walked pte a after a TLB flush and saw",
    "sleeping/alloc-in-lazy-section.spec#no_sleep_in_atomic":
      "cpu0 may sleep (line 17) in atomic context: it is inside a lazy",
    "spurious-fault/act-on-unlocked-read.spec#no_lost_update":
      "cpu1 wrote pte a (line 41) on the strength of its read (line 35), which saw none",
    "tlb-discipline/mremap-flush-after-unlock.spec#no_stale_tlb":
      "cpu1 still used its TLB entry for pte old",
    "tlb-discipline/mremap-shootdown-wait-after-unlock.spec#no_stale_tlb":
      "cpu1 still used its TLB entry for pte old",
    "xen-preserve-ad/update-intpte-no-ad-carry.spec#no_lost_dirty":
      "cpu1's hardware set dirty on pte a, then xen's cmpxchg (line",
    "xen-preserve-ad/update-intpte-unlocked-writer.spec#cmpxchg_terminates":
      "xen's cmpxchg loop (line 18) can fail forever: in the repeating",
  ]

  /// The limits of a run without the reductions (`--no-por --no-symmetry`).
  static let unreduced: Limits = {
    var l = Limits()
    l.partialOrder = false
    l.symmetry = false
    return l
  }()

  @Test("the suite finds the specs") func suiteIsNotEmpty() {
    #expect(Self.specFiles.count >= 14)
  }

  static let recording = ProcessInfo.processInfo.environment["RECORD_SPEC_COUNTS"] == "1"
  static let regenerate =
    "regenerate Tests/ModelCheckTests/SpecCounts.swift with `RECORD_SPEC_COUNTS=1 swift test "
    + "--filter SpecSuiteTests` and review the diff"

  @Test("every pinned spec still exists") func noStalePins() {
    guard !Self.recording else { return }
    let stale = Set(Self.pins.keys).subtracting(Self.specFiles)
    #expect(stale.isEmpty, "pins for specs that are gone: \(stale.sorted()); \(Self.regenerate)")
  }

  /// With RECORD_SPEC_COUNTS=1: checks every spec and writes the table of pins.
  @Test("record the pinned counts", .enabled(if: recording))
  func record() throws {
    var entries: [String] = []
    for relative in Self.specFiles {
      let (file, program) = try compiledSpec(relative)
      let result = Pipeline.check(program, file: file, limits: Self.unreduced)
      let r = Pipeline.check(program, file: file).statistics
      let s = result.statistics
      let failing = result.properties.filter { $0.status == .fail }.compactMap { p in
        p.counterexample.map { c -> String in
          if case .lasso = c { return ".\(p.kind): (\(c.length), true)" }
          return ".\(p.kind): (\(c.length), false)"
        }
      }
      let cex = failing.isEmpty ? "[:]" : "[" + failing.joined(separator: ", ") + "]"
      let counts =
        "states: \(s.states), transitions: \(s.transitions), depth: \(s.depth),\n      "
        + "reduced: [\(r.states), \(r.transitions), \(r.depth)],"
      var entry =
        "    \"\(relative)\": SpecPin(\n      \(counts) counterexamples: \(cex)),"
      if entry.split(separator: "\n").contains(where: { $0.count > 100 }) {
        entry = "    \"\(relative)\": SpecPin(\n      \(counts)\n      counterexamples: \(cex)),"
      }
      entries.append(entry)
    }
    let text = """
      // Generated by `RECORD_SPEC_COUNTS=1 swift test --filter SpecSuiteTests`: review the diff.
      // Per spec in Specs/: states, transitions and depth of the exploration, and each
      // failing property's counterexample (steps, is a lasso). Deterministic, so any change
      // means the semantics (or the explorer) changed.
      @testable import ModelCheck

      extension SpecSuiteTests {
        static let pins: [String: SpecPin] = [
      \(entries.joined(separator: "\n"))
        ]
      }

      """
    let out = packageRoot.appendingPathComponent("Tests/ModelCheckTests/SpecCounts.swift")
    try text.write(to: out, atomically: true, encoding: .utf8)
    print("wrote \(entries.count) pins to \(out.path)")
  }

  @Test("each spec's verdicts match its expect", arguments: specFiles)
  func specMatchesExpectation(_ relative: String) throws {
    let (file, program) = try compiledSpec(relative)
    // Every spec with and without partial-order and symmetry reduction: the same verdicts,
    // each mode's counts pinned.
    let result = Pipeline.check(program, file: file, limits: Self.unreduced)
    let reduced = Pipeline.check(program, file: file)
    #expect(result.stopReason == nil && reduced.stopReason == nil)
    #expect(
      result.matchesExpectation && reduced.matchesExpectation,
      "verdicts: \(result.properties.map { "\($0.kind.name)=\($0.status)" })")
    #expect(
      result.properties.map(\.status) == reduced.properties.map(\.status),
      "with and without the reductions")
    // And with each reduction alone.
    for (por, symmetry) in [(true, false), (false, true)] {
      var limits = Limits()
      (limits.partialOrder, limits.symmetry) = (por, symmetry)
      let one = Pipeline.check(program, file: file, limits: limits)
      #expect(
        one.properties.map(\.status) == result.properties.map(\.status),
        "partial-order reduction \(por), symmetry \(symmetry)")
      #expect(one.statistics.states <= result.statistics.states)
    }
    let failing = Set(result.properties.filter { $0.status == .fail }.map(\.kind))
    #expect(failing == program.spec.expectation.failing)
    guard !Self.recording else { return }
    guard let pin = Self.pins[relative] else {
      Issue.record("\(relative) has no pinned counts: \(Self.regenerate)")
      return
    }
    let s = result.statistics
    let r = reduced.statistics
    let counts: [Int] = [s.states, s.transitions, s.depth]
    let expected: [Int] = [pin.states, pin.transitions, pin.depth]
    let why = "if the semantics changed on purpose, \(Self.regenerate)"
    #expect(counts == expected, "states, transitions, depth of \(relative); \(why)")
    #expect(
      [r.states, r.transitions, r.depth] == pin.reduced,
      "reduced states, transitions, depth of \(relative); \(why)")
    #expect(r.states <= s.states, "a reduced search stores a subset of the states")
    // The reduced run's counterexamples are the shortest ones, as without it.
    for (x, y) in zip(result.properties, reduced.properties) where x.status == .fail {
      #expect(x.counterexample?.length == y.counterexample?.length, "\(x.kind.name)")
    }
    let pinned = pin.counterexamples
    // A `reachable` failure has no run to show (nothing gets there): its details say which
    // cover point is never reached instead.
    if failing.contains(.reachable) {
      let details = result.result(.reachable)?.details ?? []
      #expect(details.contains { $0.contains("never reaches") }, "\(details)")
    }
    #expect(
      Set(pinned.keys) == failing.subtracting([.reachable]),
      "every failing property needs its counterexample pinned: \(Self.regenerate)")
    for (kind, (steps, isLasso)) in pinned {
      let c = try #require(result.result(kind)?.counterexample)
      #expect(c.length == steps, "\(kind.name)")
      if case .lasso = c { #expect(isLasso) } else { #expect(!isLasso) }
      // Every counterexample explains itself in one sentence.
      let why = Explanation.why(kind, Trace(program: program, counterexample: c), program)
      #expect(!why.isEmpty && !why.contains("\n"))
      let start = try #require(
        Self.whyStarts["\(relative)#\(kind.name)"], "pin the why of \(relative) \(kind.name)")
      #expect(why.hasPrefix(start), "why: \(why)")
    }
  }

  @Test(
    "with 2 threads, and with states stored as trees, every spec gives the one-thread result",
    arguments: specFiles)
  func twoThreadsAndTrees(_ relative: String) throws {
    let (file, program) = try compiledSpec(relative)
    let one = Pipeline.check(program, file: file)
    // Two threads with trees from the first state; one thread with trees from the 50th.
    var limits = Limits()
    (limits.threads, limits.compression) = (2, .after(1))
    try expectSame(one, Pipeline.check(program, file: file, limits: limits), relative)
    var trees = Limits()
    trees.compression = .after(50)
    try expectSame(one, Pipeline.check(program, file: file, limits: trees), relative)
  }

  @Test(
    "fingerprints, on 1 and 2 threads: the exact counts, safety verdicts and counterexamples",
    arguments: specFiles)
  func fingerprints(_ relative: String) throws {
    let (file, program) = try compiledSpec(relative)
    let exact = Pipeline.check(program, file: file)
    for threads in [1, 2] {
      var limits = Limits()
      (limits.fingerprints, limits.threads) = (true, threads)
      let hashed = Pipeline.check(program, file: file, limits: limits)
      #expect(hashed.statistics.fingerprints && hashed.statistics.omissionBound != nil)
      try expectSame(exact, hashed, relative, graphPropertiesUndecided: true)
    }
  }

  func expectSame(
    _ one: CheckResult, _ two: CheckResult, _ relative: String,
    graphPropertiesUndecided: Bool = false
  ) throws {
    let (a, b) = (one.statistics, two.statistics)
    let counts: ([Int], [Int]) = (
      [a.states, a.transitions, a.depth], [b.states, b.transitions, b.depth]
    )
    #expect(counts.0 == counts.1, "\(relative)")
    // Under fingerprints a graph property other than cmpxchg_terminates (decided on the
    // loop states kept) is undecided, and says why.
    func undecided(_ kind: PropertyKind) -> Bool {
      graphPropertiesUndecided && PropertyTable.descriptor(kind).isGraphProperty
        && kind != .cmpxchgTerminates
    }
    func status(_ p: PropertyResult, undecided: Bool) -> String {
      undecided ? "incomplete" : "\(p.status)"
    }
    let statuses = (
      one.properties.map { status($0, undecided: undecided($0.kind)) },
      two.properties.map { "\($0.status)" }
    )
    #expect(statuses.0 == statuses.1, "\(relative)")
    for p in two.properties where undecided(p.kind) {
      #expect(p.details.contains { $0.contains("not decided with --fingerprint") }, "\(relative)")
    }
    // The same counterexample, state by state.
    func ids(_ c: Counterexample?) -> [Int] {
      switch c {
      case .run(let r)?: return r
      case .lasso(let p, let c)?: return p + [-1] + c
      case nil: return []
      }
    }
    for (x, y) in zip(one.properties, two.properties) {
      if undecided(x.kind) { continue }
      #expect(ids(x.counterexample) == ids(y.counterexample), "\(relative) \(x.kind.name)")
    }
    #expect(
      (one.faultRun ?? []) == (two.faultRun ?? []) && one.stopReason == two.stopReason,
      "\(relative)")
  }

  @Test("a retry loop re-entered in the same step counts each run separately")
  func reenteredLoop() throws {
    let path = packageRoot.appendingPathComponent("Specs/regress/retry-loop-reentered.spec").path
    let result = try check(try String(contentsOfFile: path, encoding: .utf8))
    let details = try #require(result.result(.cmpxchgTerminates)).details
    #expect(details.contains { $0.contains("at most 1 retry (2 attempts)") })
  }

  @Test("a retry loop that only an unfair scheduler keeps going passes, and says so")
  func unfairOnly() throws {
    let path = packageRoot.appendingPathComponent("Specs/semantics/unfair-retry-only.spec").path
    let result = try check(try String(contentsOfFile: path, encoding: .utf8))
    let details = try #require(result.result(.cmpxchgTerminates)).details
    #expect(result.status(.cmpxchgTerminates) == .pass)
    #expect(
      details.contains { $0.contains("unbounded retries, but only under an unfair scheduler") })
  }

  @Test("the Xen loop under page_lock reports at most 2 retries (3 attempts)")
  func xenLoopRetries() throws {
    let path = packageRoot.appendingPathComponent("Specs/xen-preserve-ad/update-intpte-locked.spec")
      .path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let result = try check(text)
    let details = try #require(result.result(.cmpxchgTerminates)).details
    #expect(details.contains { $0.contains("at most 2 retries (3 attempts)") })
  }
}
