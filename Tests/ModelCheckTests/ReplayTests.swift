import Foundation
import Testing

@testable import ModelCheck

/// `modelcheck replay SPEC TRACE.json`: a trace the checker just wrote reproduces, on the
/// spec and after the JSON round trip; an edited spec that fixes the bug does not; a broken
/// trace file is a clear error with exit 2. Also the JSON reader it rests on.
@Suite struct ReplayTests {
  /// Runs `modelcheck` in process; returns the exit code, stdout and stderr.
  static func run(_ args: [String]) throws -> (Runner.ExitCode, String, String) {
    var out = ""
    var err = ""
    let options = try Options.parse(args)
    let code = Runner.run(options, out: { out += $0 }, err: { err += $0 })
    return (code, out, err)
  }

  /// Checks `spec` writing traces into `dir`; returns the JSON trace of `property`.
  static func traceFile(_ spec: String, _ property: String, in dir: TemporaryDirectory) throws
    -> String
  {
    _ = try run(["--output-dir", dir.url.path, spec])
    let name = (spec.split(separator: "/").last.map(String.init) ?? spec)
      .replacingOccurrences(of: ".spec", with: "")
    let path = dir.url.appendingPathComponent("\(name).\(property).json").path
    #expect(FileManager.default.fileExists(atPath: path), "\(path)")
    return path
  }

  static func specPath(_ relative: String) -> String {
    packageRoot.appendingPathComponent("Specs/" + relative).path
  }

  @Test("a trace the checker just wrote reproduces (exit 0)") func reproduces() throws {
    let dir = try TemporaryDirectory()
    let spec = Self.specPath("lazy-hooks/mprotect-leave-after-unlock.spec")
    let trace = try Self.traceFile(spec, "no_stale_read", in: dir)
    let (code, out, err) = try Self.run(["replay", spec, trace])
    #expect(code == .asExpected, "\(err)")
    #expect(out.contains("REPRODUCED: step 10 still violates no_stale_read"), "\(out)")
    #expect(out.contains("  10  cpu1   pte = ptep_get(a)"), "\(out)")
    #expect(out.contains("why: cpu1 read pte a under ptl"), "\(out)")
    #expect(!out.contains("note:"), "\(out)")
  }

  @Test("a lasso reproduces, with its cycle marked") func lassoReproduces() throws {
    let dir = try TemporaryDirectory()
    let spec = Self.specPath("xen-preserve-ad/update-intpte-unlocked-writer.spec")
    let trace = try Self.traceFile(spec, "cmpxchg_terminates", in: dir)
    let (code, out, _) = try Self.run(["replay", spec, trace])
    #expect(code == .asExpected)
    #expect(out.contains("-- cycle starts here (repeats forever) --"), "\(out)")
    #expect(out.contains("REPRODUCED: the cycle still repeats forever"), "\(out)")
  }

  /// Every counterexample of every spec in Specs/, through its JSON text and back, replays
  /// to the same verdict: step properties at their last step, deadlocks, leaks at the end,
  /// lassos of both graph properties.
  @Test("every counterexample in Specs/ replays from its JSON") func everySpecReplays() throws {
    var replayed = 0
    for relative in SpecSuiteTests.specFiles {
      let path = "Specs/" + relative
      let text = try String(contentsOf: packageRoot.appendingPathComponent(path), encoding: .utf8)
      let file = SourceFile(path: path, text: text)
      let result = Pipeline.check(try Pipeline.compile(file), file: file)
      for p in result.properties {
        guard let c = p.counterexample else { continue }
        let trace = Trace(program: result.program, counterexample: c)
        let json = JSONReport.counterexample(p, trace, result).serialized()
        let saved = try SavedTrace.read(Array(json.utf8))
        #expect(saved.property == p.kind)
        let steps = saved.steps.map { SavedTrace.resolve($0.action, in: result.program) }
        #expect(steps == trace.steps.map { .action($0.actionIndex) }, "\(path) \(p.kind.name)")
        let outcome = Replay.run(
          result.program, property: p.kind, steps: steps, cycleStart: saved.cycleStart)
        let expected: ReplayOutcome.Verdict
        if case .lasso = c {
          expected = .reproduces(step: nil)
        } else if trace.steps.last.map({ $0.violations & p.kind.bit != 0 }) ?? false {
          expected = .reproduces(step: trace.steps.count)
        } else if trace.steps.isEmpty, p.kind != .deadlockFree, p.kind != .noPTLeak {
          expected = .reproduces(step: 0)
        } else {
          expected = .reproduces(step: nil)
        }
        #expect(outcome.verdict == expected, "\(path) \(p.kind.name)")
        #expect(outcome.actions == trace.steps.map(\.actionIndex), "\(path) \(p.kind.name)")
        replayed += 1
      }
    }
    #expect(replayed >= 40)
  }

  /// The traces kept in counterexamples/examples/ are in the current format and still
  /// counterexamples of their specs.
  @Test("the committed example traces replay") func examplesReplay() throws {
    let examples = packageRoot.appendingPathComponent("counterexamples/examples")
    let names = try FileManager.default.contentsOfDirectory(atPath: examples.path)
      .filter { $0.hasSuffix(".json") }.sorted()
    #expect(names.count >= 5)
    for name in names {
      let trace = examples.appendingPathComponent(name).path
      let saved = try SavedTrace.read(Array(try Data(contentsOf: URL(fileURLWithPath: trace))))
      let spec = packageRoot.appendingPathComponent(saved.spec).path
      let (code, out, err) = try Self.run(["replay", spec, trace])
      #expect(code == .asExpected, "\(name): \(out)\(err)")
      #expect(out.contains("REPRODUCED"), "\(name)")
    }
  }

  @Test("a run over the retry bound reproduces") func overBound() throws {
    let dir = try TemporaryDirectory()
    let original = try String(
      contentsOfFile: Self.specPath("xen-preserve-ad/update-intpte-locked.spec"), encoding: .utf8)
    let text = original.replacingOccurrences(of: "bound 2", with: "bound 1")
    #expect(text != original)
    let spec = try dir.write("over-bound.spec", text)
    let trace = try Self.traceFile(spec, "cmpxchg_terminates", in: dir)
    let (code, out, _) = try Self.run(["replay", spec, trace])
    #expect(code == .asExpected, "\(out)")
    #expect(out.contains("REPRODUCED: step "), "\(out)")
    // With the old bound the same run keeps the property.
    let relaxed = try dir.write("over-bound.spec", original)
    let (again, text2, _) = try Self.run(["replay", relaxed, trace])
    #expect(again == .mismatch)
    #expect(text2.contains("within the bound of 2"), "\(text2)")
  }

  @Test("the spec fixed: the trace diverges where the fix bites (exit 1)") func fixedDiverges()
    throws
  {
    let dir = try TemporaryDirectory()
    let original = Self.specPath("lazy-hooks/mprotect-leave-after-unlock.spec")
    let trace = try Self.traceFile(original, "no_stale_read", in: dir)
    // Leave lazy mode before dropping the ptl, as the kernel does.
    let text = try String(contentsOfFile: original, encoding: .utf8)
    let unlock = "  spin_unlock(ptl)                          // BUG: the batch is still pending\n"
    let leave =
      "  arch_leave_lazy_mmu_mode()                // ... and lands after cpu1 took the ptl\n"
    #expect(text.contains(unlock + leave))
    let fixed = try dir.write(
      "fixed.spec", text.replacingOccurrences(of: unlock + leave, with: leave + unlock))
    let (code, out, _) = try Self.run(["replay", fixed, trace])
    #expect(code == .mismatch)
    #expect(
      out.contains(
        "note: step 7 now runs `arch_leave_lazy_mmu_mode()` (line 23); the trace had "
          + "`spin_unlock(ptl)` (line 23)"), "\(out)")
    #expect(
      out.contains("NOT REPRODUCED: the trace diverges at step 9: cpu1 has already finished"),
      "\(out)")
  }

  @Test("every step still enabled, but no violation (exit 1)") func fixedHolds() throws {
    let dir = try TemporaryDirectory()
    let buggy = try dir.write(
      "read-back.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let trace = try Self.traceFile(buggy, "no_stale_read", in: dir)
    let text = CommandLineTests.readBack(expect: "pass").replacingOccurrences(
      of: "  pte = ptep_get(a)\n  arch_leave_lazy_mmu_mode()\n",
      with: "  arch_leave_lazy_mmu_mode()\n  pte = ptep_get(a)\n")
    let fixed = try dir.write("read-back.spec", text)
    let (code, out, _) = try Self.run(["replay", fixed, trace])
    #expect(code == .mismatch)
    #expect(
      out.contains("NOT REPRODUCED: every step can be taken, but none violates no_stale_read"),
      "\(out)")
  }

  @Test("a program the spec no longer has is a divergence") func renamedProgram() throws {
    let dir = try TemporaryDirectory()
    let buggy = try dir.write(
      "read-back.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let trace = try Self.traceFile(buggy, "no_stale_read", in: dir)
    let renamed = try dir.write(
      "read-back.spec",
      CommandLineTests.readBack(expect: "fail no_stale_read").replacingOccurrences(
        of: "cpu cpu0", with: "cpu boot"))
    let (code, out, _) = try Self.run(["replay", renamed, trace])
    #expect(code == .mismatch)
    #expect(out.contains("diverges at step 1: the spec has no program cpu0"), "\(out)")
  }

  @Test("broken trace files and arguments: a clear error, exit 2") func errors() throws {
    let dir = try TemporaryDirectory()
    let spec = try dir.write(
      "read-back.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let good = try String(
      contentsOfFile: try Self.traceFile(spec, "no_stale_read", in: dir), encoding: .utf8)
    let cases: [(String, String)] = [
      ("{\"schema\": ", "error: not valid JSON: line 1, column 12: unexpected end of the text"),
      ("[1, 2]", "error: not a JSON object"),
      ("{\"schema\": \"modelcheck.summary/1\"}", "is not modelcheck.counterexample/1"),
      (
        good.replacingOccurrences(of: "\"no_stale_read\"", with: "\"no_such_property\""),
        "error: unknown property \"no_such_property\""
      ),
      (
        good.replacingOccurrences(of: "\"kind\": \"step\"", with: "\"kind\": \"teleport\""),
        "error: step 1: unknown action kind \"teleport\""
      ),
      (
        good.replacingOccurrences(of: "\"branch\": 0", with: "\"branch\": 300"),
        "a step action needs a \"branch\" from 0 to 255"
      ),
      (
        good.replacingOccurrences(of: "\"action\"", with: "\"act\""),
        "no \"action\" object (the trace was written by an older modelcheck"
      ),
      (String(repeating: "[", count: 100_000), "nested more than 200 deep"),
    ]
    for (text, message) in cases {
      let path = try dir.write("bad.json", text)
      let (code, out, err) = try Self.run(["replay", spec, path])
      #expect(code == .usageOrSpecError, "\(message)")
      #expect(out.isEmpty)
      #expect(err.contains(message), "\(err)")
    }
    let unchecked = try dir.write(
      "unchecked.spec",
      CommandLineTests.readBack(expect: "pass", checks: "deadlock_free"))
    let path = try dir.write("good.json", good)
    let (code, _, err) = try Self.run(["replay", unchecked, path])
    #expect(code == .usageOrSpecError)
    #expect(err.contains("which \(unchecked) does not check"), "\(err)")
    let (missing, _, err2) = try Self.run(["replay", spec, dir.url.path + "/none.json"])
    #expect(missing == .usageOrSpecError)
    #expect(err2.contains("cannot read the trace file"))
    for args in [
      ["replay", spec], ["replay", spec, path, path], ["replay", "--quiet", spec, path],
    ] {
      #expect(throws: Options.UsageError.self) { try Options.parse(args) }
    }
  }

  @Test("the executable's exit statuses: 0 reproduced, 1 not, 2 broken") func executable() throws {
    let dir = try TemporaryDirectory()
    let spec = try dir.write(
      "read-back.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let trace = try Self.traceFile(spec, "no_stale_read", in: dir)
    #expect(try CommandLineTests.run(["replay", spec, trace]).code == 0)
    let garbage = try dir.write("garbage.json", "\u{1}not json")
    let broken = try CommandLineTests.run(["replay", spec, garbage])
    #expect(broken.code == 2)
    #expect(broken.err.contains("garbage.json: error: not valid JSON"), "\(broken.err)")
    let fixed = try dir.write("read-back.spec", Self.fixedReadBack)
    #expect(try CommandLineTests.run(["replay", fixed, trace]).code == 1)
    let help = try CommandLineTests.run(["replay", "--help"])
    #expect(help.code == 0)
    #expect(help.out.contains("modelcheck replay SPEC TRACE.json"))
  }

  static let fixedReadBack = CommandLineTests.readBack(expect: "pass").replacingOccurrences(
    of: "  pte = ptep_get(a)\n  arch_leave_lazy_mmu_mode()\n",
    with: "  arch_leave_lazy_mmu_mode()\n  pte = ptep_get(a)\n")

  @Test("the JSON reader") func jsonReader() throws {
    let text =
      #"{"a": [1, -2, 3.5, true, false, null], "b": "x\"\\\/\n\u00e9\ud83d\ude00", "a": 0}"#
    let v = try JSON.parse(Array(text.utf8))
    #expect(v["a"]?.arrayValue?.count == 6)
    #expect(v["a"]?.arrayValue?.first?.intValue == 1)
    #expect(v["b"]?.stringValue == "x\"\\/\né😀")
    #expect(try JSON.parse(Array(" 12 ".utf8)) == .int(12))
    // What the writer writes, the reader reads back the same.
    let round = JSON.object([("k", .array([.string("\u{1}é\t"), .int(-7), .null, .bool(true)]))])
    #expect(try JSON.parse(Array(round.serialized().utf8)) == round)
    let bad: [String] = [
      "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\\ud800\"", "\"a\nb\"", "nul",
      "{} x", "-", "1e",
    ]
    for b in bad {
      #expect(throws: JSON.ParseError.self, "\(b)") { try JSON.parse(Array(b.utf8)) }
    }
    #expect(throws: JSON.ParseError.self) { try JSON.parse([0x22, 0xFF, 0x22]) }
  }
}
