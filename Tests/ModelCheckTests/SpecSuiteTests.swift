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
    }
  }

  @Test("a retry loop re-entered in the same step counts each run separately")
  func reenteredLoop() throws {
    let path = packageRoot.appendingPathComponent("Specs/regress/retry-loop-reentered.spec").path
    let result = try check(try String(contentsOfFile: path, encoding: .utf8))
    let details = try #require(result.result(.cmpxchgTerminates)).details
    #expect(details.contains { $0.contains("at most 1 retry (2 attempts)") })
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
