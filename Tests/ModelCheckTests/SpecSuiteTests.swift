import Foundation
import Testing
@testable import ModelCheck

/// Every spec under Specs/ is a test: its verdicts must match the `expect` it declares.
/// For failing specs the shape of the counterexample is pinned too (the property, its
/// length, and whether it is a lasso), so a change in the semantics shows up here.
@Suite struct SpecSuiteTests {
  static let specFiles: [String] = {
    let root = packageRoot.appendingPathComponent("Specs").path
    let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
    return files.filter { $0.hasSuffix(".spec") }.sorted()
  }()

  /// Failing specs: each failing property -> (counterexample steps, is a lasso).
  static let counterexamples: [String: [PropertyKind: (Int, Bool)]] = [
    "lazy-hooks/mprotect-leave-after-unlock.spec": [.noStaleRead: (10, false), .noLostUpdate: (11, false)],
    "read-hazard/read-back-direct.spec": [.noStaleRead: (4, false)],
    "prot-rmw/mprotect-plain-rmw.spec": [.noLostDirty: (5, false)],
    "copy-pte-range/two-ptls-opposite-order.spec": [.deadlockFree: (2, false)],
    "xen-preserve-ad/update-intpte-unlocked-writer.spec": [.cmpxchgTerminates: (8, true)],
    "xen-preserve-ad/update-intpte-no-ad-carry.spec": [.noLostDirty: (4, false)],
    "kmap-atomic/kmap-in-lazy-section.spec": [.noStaleRead: (7, false)],
    "apply-to-page-range/callback-reads-back.spec": [.noStaleRead: (3, false)],
    "spurious-fault/act-on-unlocked-read.spec": [.noLostUpdate: (9, false)],
    "full-mm-teardown/zap-live-mm-native.spec": [.noLostDirty: (4, false)],
    "sleeping/alloc-in-lazy-section.spec": [.noSleepInAtomic: (2, false)],
    "tlb-discipline/mremap-flush-after-unlock.spec": [.noStaleTLB: (7, false)],
    "tlb-discipline/mremap-shootdown-wait-after-unlock.spec": [.noStaleTLB: (8, false)],
    "pae/pud-populate-no-reload.spec": [.noStaleTLB: (4, false)],
    "preemption/per-cpu-lazy-migration.spec": [.noStaleRead: (6, false)],
    "interrupts/handler-lazy-by-accident.spec": [.noStaleRead: (5, false)],
    "regress/lone-handler-read-back.spec": [.noStaleRead: (4, false)],
    "pt-lifetime/pgd-alloc-failure-leaks-pmds.spec": [.noPTLeak: (5, false)],
    "pt-lifetime/pgd-free-without-mop-up.spec": [.noPTLeak: (8, false)],
    "nesting/set-ptes-flag-hooks.spec": [.lazyNesting: (4, false)],
    "full-mm-teardown/zap-live-mm-shadow.spec": [.noLostDirty: (4, false)],
    "regress/blind-installs-under-ptl.spec": [.noLostUpdate: (5, false)],
    "regress/busy-wait-holding-lock.spec": [.deadlockFree: (1, false), .terminates: (2, true)],
    "regress/clean-without-tlb-flush.spec": [.noLostDirty: (4, false)],
    "regress/enter-before-lock.spec": [.lazyBalanced: (4, false)],
    "regress/ipi-target-in-handler.spec": [.deadlockFree: (3, false)],
    "regress/ipi-target-irqs-off.spec": [.deadlockFree: (3, false)],
    "regress/kmap-slot-reused-without-flush.spec": [.noStaleRead: (5, false)],
    "regress/outer-loop-retry-livelock.spec": [.cmpxchgTerminates: (9, true)],
    "regress/shootdown-started-before-clear.spec": [.noStaleTLB: (8, false)],
    "regress/why-bare-cpu-hardware-lost-dirty.spec": [.noLostDirty: (4, false)],
    "regress/why-lost-dirty-context-switch.spec": [.noLostDirty: (6, false)],
    "regress/why-lost-dirty-setter-bare-cpu.spec": [.noLostDirty: (3, false)],
    "regress/why-lost-update-early-flush.spec": [.noLostUpdate: (8, false)],
    "regress/why-shadow-lost-dirty-bare-cpu.spec": [.noLostDirty: (3, false)],
    "regress/why-stale-read-walk-bare-cpu.spec": [.noStaleRead: (5, false)],
    "regress/why-stale-tlb-bare-cpu-before-program.spec": [.noStaleTLB: (7, false)],
    "regress/why-stale-tlb-bare-cpu-first.spec": [.noStaleTLB: (4, false)],
    "regress/why-stale-tlb-bare-cpu.spec": [.noStaleTLB: (4, false)],
    "regress/resume-underflow.spec": [.lazyNesting: (1, false)],
    "semantics/deadlock-with-hardware.spec": [.deadlockFree: (2, false)],
    "semantics/ends-in-lazy-mode.spec": [.lazyBalanced: (4, false)],
    "semantics/self-loop-livelock.spec": [.cmpxchgTerminates: (2, true)],
    "semantics/shadow-walk-stale.spec": [.noStaleRead: (4, false)],
    "semantics/walk-after-remote-flush.spec": [.noStaleRead: (4, false)],
  ]

  /// The start of the `why:` sentence of regression specs whose explanation once named the
  /// wrong actor or trapped: the actor must be the right one (a CPU's hardware is not its
  /// program; a physical CPU is not the program with the same index).
  static let whyStarts: [String: String] = [
    "regress/why-bare-cpu-hardware-lost-dirty.spec": "cpu1's hardware set dirty on pte a",
    "regress/why-lost-dirty-setter-bare-cpu.spec": "b's hardware set dirty on pte a",
    "regress/why-lost-dirty-context-switch.spec": "b0's hardware set dirty on pte a",
    "regress/why-lost-update-early-flush.spec": "t0's batched write to pte a (line 19)",
    "regress/why-shadow-lost-dirty-bare-cpu.spec": "b's hardware set dirty through a stale shadow",
    "regress/why-stale-read-walk-bare-cpu.spec": "b's hardware walked pte a after a TLB flush",
    "regress/why-stale-tlb-bare-cpu.spec": "b still used its TLB entry for pte a",
    "regress/why-stale-tlb-bare-cpu-first.spec": "b still used its TLB entry for pte a",
    "regress/why-stale-tlb-bare-cpu-before-program.spec": "cpu1 still used its TLB entry for pte old",
    "regress/ipi-target-irqs-off.spec": "cpu0 waits in flush_tlb_wait(a) for the shootdown IPI",
    "regress/ipi-target-in-handler.spec": "cpu0 waits in flush_tlb_wait(a) for the shootdown IPI",
    "regress/blind-installs-under-ptl.spec": "cpu1 wrote pte a (line 19) without looking at it",
    "regress/enter-before-lock.spec": "cpu0 released ptl (line 16) while its write of pte a",
    "regress/kmap-slot-reused-without-flush.spec": "cpu0 used its TLB entry for pte kmap",
    "regress/clean-without-tlb-flush.spec": "cpu1's hardware stored through its TLB entry",
    "regress/shootdown-started-before-clear.spec": "cpu1 still used its TLB entry for pte a",
    "semantics/ends-in-lazy-mode.spec": "cpu0's program ends in lazy mode",
    "regress/resume-underflow.spec": "cpu0 called lazy_mmu_mode_resume() (line 12) with pause_count",
    "semantics/self-loop-livelock.spec": "cpu0's cmpxchg loop (line 12) can fail forever: in the repeating cycle nothing changes",
    "semantics/shadow-walk-stale.spec": "cpu1's hardware walked pte a after a TLB flush",
  ]

  @Test("the suite finds the specs") func suiteIsNotEmpty() {
    #expect(Self.specFiles.count >= 14)
  }

  @Test("each spec's verdicts match its expect", arguments: specFiles)
  func specMatchesExpectation(_ relative: String) throws {
    let path = packageRoot.appendingPathComponent("Specs").appendingPathComponent(relative).path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let file = SourceFile(path: path, text: text)
    let program = try Pipeline.compile(file)
    let result = Pipeline.check(program, file: file)
    #expect(result.stopReason == nil)
    #expect(result.matchesExpectation, "verdicts: \(result.properties.map { "\($0.kind.name)=\($0.status)" })")
    let failing = Set(result.properties.filter { $0.status == .fail }.map(\.kind))
    #expect(failing == program.spec.expectation.failing)
    let pinned = Self.counterexamples[relative] ?? [:]
    #expect(Set(pinned.keys) == failing, "every failing property needs its counterexample pinned in SpecSuiteTests")
    for (kind, (steps, isLasso)) in pinned {
      let c = try #require(result.result(kind)?.counterexample)
      #expect(c.length == steps, "\(kind.name)")
      if case .lasso = c { #expect(isLasso) } else { #expect(!isLasso) }
      // Every counterexample explains itself in one sentence.
      let why = Explanation.why(kind, Trace(program: program, counterexample: c), program)
      #expect(!why.isEmpty && !why.contains("\n"))
      if let start = Self.whyStarts[relative], kind != .terminates {
        #expect(why.hasPrefix(start), "why: \(why)")
      }
    }
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
    #expect(details.contains { $0.contains("unbounded retries, but only under an unfair scheduler") })
  }

  @Test("the Xen loop under page_lock reports at most 2 retries (3 attempts)")
  func xenLoopRetries() throws {
    let path = packageRoot.appendingPathComponent("Specs/xen-preserve-ad/update-intpte-locked.spec").path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let result = try check(text)
    let details = try #require(result.result(.cmpxchgTerminates)).details
    #expect(details.contains { $0.contains("at most 2 retries (3 attempts)") })
  }
}
