import Foundation
import Testing

@testable import ModelCheck

/// What a spec's run must reproduce exactly: the exploration's counts, and per failing
/// property its counterexample's length and whether it is a lasso.
struct SpecPin: Sendable {
  var states: Int
  var transitions: Int
  var depth: Int
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
    "regress/why-stale-tlb-bare-cpu-before-program.spec":
      "cpu1 still used its TLB entry for pte old",
    "regress/ipi-target-irqs-off.spec": "cpu0 waits in flush_tlb_wait(a) for the shootdown IPI",
    "regress/ipi-target-in-handler.spec": "cpu0 waits in flush_tlb_wait(a) for the shootdown IPI",
    "regress/blind-installs-under-ptl.spec": "cpu1 wrote pte a (line 19) without looking at it",
    "regress/enter-before-lock.spec": "cpu0 released ptl (line 16) while its write of pte a",
    "regress/kmap-slot-reused-without-flush.spec": "cpu0 used its TLB entry for pte kmap",
    "regress/clean-without-tlb-flush.spec": "cpu1's hardware stored through its TLB entry",
    "regress/shootdown-started-before-clear.spec": "cpu1 still used its TLB entry for pte a",
    "semantics/ends-in-lazy-mode.spec": "cpu0's program ends in lazy mode",
    "regress/resume-underflow.spec":
      "cpu0 called lazy_mmu_mode_resume() (line 12) with pause_count",
    "semantics/self-loop-livelock.spec":
      "cpu0's cmpxchg loop (line 12) can fail forever: in the repeating cycle nothing changes",
    "semantics/shadow-walk-stale.spec": "cpu1's hardware walked pte a after a TLB flush",
  ]

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
      let path = packageRoot.appendingPathComponent("Specs").appendingPathComponent(relative).path
      let file = SourceFile(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
      let result = Pipeline.check(try Pipeline.compile(file), file: file)
      let s = result.statistics
      let failing = result.properties.filter { $0.status == .fail }.compactMap { p in
        p.counterexample.map { c -> String in
          if case .lasso = c { return ".\(p.kind): (\(c.length), true)" }
          return ".\(p.kind): (\(c.length), false)"
        }
      }
      let cex = failing.isEmpty ? "[:]" : "[" + failing.joined(separator: ", ") + "]"
      var entry =
        "    \"\(relative)\": SpecPin(\n      states: \(s.states), transitions: "
        + "\(s.transitions), depth: \(s.depth), counterexamples: \(cex)),"
      if entry.split(separator: "\n").contains(where: { $0.count > 100 }) {
        entry =
          "    \"\(relative)\": SpecPin(\n      states: \(s.states), transitions: "
          + "\(s.transitions), depth: \(s.depth),\n      counterexamples: \(cex)),"
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
    let path = packageRoot.appendingPathComponent("Specs").appendingPathComponent(relative).path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let file = SourceFile(path: path, text: text)
    let program = try Pipeline.compile(file)
    let result = Pipeline.check(program, file: file)
    #expect(result.stopReason == nil)
    #expect(
      result.matchesExpectation,
      "verdicts: \(result.properties.map { "\($0.kind.name)=\($0.status)" })")
    let failing = Set(result.properties.filter { $0.status == .fail }.map(\.kind))
    #expect(failing == program.spec.expectation.failing)
    guard !Self.recording else { return }
    guard let pin = Self.pins[relative] else {
      Issue.record("\(relative) has no pinned counts: \(Self.regenerate)")
      return
    }
    let s = result.statistics
    let counts: [Int] = [s.states, s.transitions, s.depth]
    let expected: [Int] = [pin.states, pin.transitions, pin.depth]
    let why = "if the semantics changed on purpose, \(Self.regenerate)"
    #expect(counts == expected, "states, transitions, depth of \(relative); \(why)")
    let pinned = pin.counterexamples
    #expect(
      Set(pinned.keys) == failing,
      "every failing property needs its counterexample pinned: \(Self.regenerate)")
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
