import Testing

@testable import ModelCheck

/// Coverage (which statements ran, and how often), its warnings, and the `reachable`
/// property (`cover()` and `reachable(cond)`).
@Suite struct CoverageTests {
  func covered(_ text: String, counting: Bool = true) throws -> CheckResult {
    let file = SourceFile(path: "test.spec", text: text)
    let program = try Pipeline.compile(file)
    return Pipeline.check(program, file: file, coverage: counting)
  }

  /// Per statement line (and branch), its count.
  func counts(_ r: CheckResult) -> [String: Int] {
    var out: [String: Int] = [:]
    for s in r.coverage?.statements ?? [] {
      out["\(s.range.start.line)" + (s.branch.map { "/\($0 + 1)" } ?? "")] = s.count
    }
    return out
  }

  @Test("counts are transitions: a statement two interleavings reach from two states")
  func countsAreTransitions() throws {
    // c0's set_pte (line 10) runs from the initial state and from the state after c1's
    // step: 2. Its ptep_get (11) runs from the two states after its set_pte, with and
    // without c1's write: 2. c1's set_pte (14) runs from all three states of c0: 3.
    let r = try covered(
      spec(
        mode: "native",
        """
        cpu c0 {
          var v
          set_pte(a, present | write | pfn(1))
          v = ptep_get(a)
        }
        cpu c1 {
          set_pte(b, present | pfn(2))
        }
        """))
    let c = counts(r)
    #expect(c == ["10": 2, "11": 2, "14": 3], "\(c)")
    #expect(r.coverage?.warnings(r.program).isEmpty == true)
  }

  @Test("a statement that never runs warns at its line, folding the ones after it")
  func neverRan() throws {
    let r = try covered(
      spec(
        """
        cpu c0 {
          var v
          v = ptep_get(a)
          if v & dirty {
            set_pte(a, none)
            flush_tlb(a)
          }
          set_pte(b, none)
        }
        """), counting: false)
    let warnings = try #require(r.coverage?.warnings(r.program))
    #expect(warnings.count == 1)
    #expect(warnings.first?.id == "coverage.never-ran" && warnings.first?.range.start.line == 12)
    #expect(warnings.first?.message.contains("nor does the statement after it") == true)
    #expect(warnings.first?.severity == .warning)
    #expect(counts(r) == ["10": 1, "12": 0, "13": 0, "15": 1])  // 0 or 1 without counting
  }

  @Test("an either branch that is never taken warns; one that runs does not")
  func branchNeverTaken() throws {
    // b is none, so the `either` inside the `if` (line 12) is never reached: neither branch
    // is taken and neither branch's statement runs (13 and 15, folded into one warning).
    // The second `either` (18) takes both branches.
    let r = try covered(
      spec(
        """
        cpu c0 {
          var v
          v = ptep_get(b)
          if v & present {
            either {
              set_pte(a, none)
            } or {
              set_pte(b, none)
            }
          }
          either {
            set_pte(a, present | pfn(2))
          } or {
            set_pte(a, present | pfn(3))
          }
        }
        """))
    let warnings = try #require(r.coverage?.warnings(r.program))
    let ids = ["coverage.branch-never-taken", "coverage.branch-never-taken", "coverage.never-ran"]
    #expect(warnings.map(\.id) == ids)
    #expect(warnings.map(\.range.start.line) == [12, 12, 13])
    let c = counts(r)
    #expect(c["18/1"] == 1 && c["18/2"] == 1 && c["12/1"] == 0 && c["12/2"] == 0, "\(c)")
    #expect(c["19"] == 1 && c["21"] == 1 && c["13"] == 0 && c["15"] == 0, "\(c)")
  }

  @Test("a statement unrolled by repeat is one statement: its copies' counts add up")
  func repeatIsOneStatement() throws {
    let r = try covered(spec("cpu c0 {\n  repeat 3 {\n    set_pte(a, none)\n  }\n}"))
    #expect(counts(r) == ["10": 3])
  }

  @Test("no coverage when exploration stopped early (a limit, or every property failed)")
  func partialGraphHasNone() throws {
    let text = spec(
      mode: "native", checks: "no_stale_read", expect: "fail no_stale_read",
      """
      cpu c0 {
        var v
        v = ptep_get(a)
        v = ptep_get(a)
      }
      cpu c1 {
        set_pte(a, none)
      }
      """)
    let stopped = try check(text, limits: Limits(maxStates: 2))
    #expect(stopped.coverage == nil)
    #expect(try covered(text).coverage != nil)  // --coverage explores on
  }

  @Test("reachable(cond) passes when some execution gets there with cond true")
  func reachablePasses() throws {
    let r = try check(
      spec(
        """
        cpu c0 {
          var v
          v = ptep_get(b)
          reachable(v & present)
        }
        cpu c1 {
          spin_lock(ptl)
          set_pte(b, present | pfn(2))
          spin_unlock(ptl)
        }
        """))
    #expect(r.status(.reachable) == .pass)
    // c1 takes the lock and writes b, then c0 reads it: 3 steps.
    let details = r.result(.reachable)?.details
    #expect(details == ["c0 reaches line 11 ('reachable(v & present)') in 3 steps"])
  }

  @Test("reachable fails when no execution gets there, and is incomplete under a limit")
  func reachableFails() throws {
    let text = spec(
      expect: "fail reachable",
      """
      cpu c0 {
        var v
        v = ptep_get(b)
        reachable(v & present)
        cover
        cover()
      }
      """)
    let r = try check(text)
    #expect(r.status(.reachable) == .fail && r.matchesExpectation)
    let details = try #require(r.result(.reachable)?.details)
    #expect(details.count == 3 && details[0].contains("never reaches line 11"))
    #expect(details[1].contains("reaches line 12") && details[2].contains("reaches line 13"))
    #expect(try check(text, limits: Limits(maxStates: 1)).status(.reachable) == .incomplete)
  }

  @Test("reachable is checked whenever a cover statement is there, also with a check line")
  func reachableIsImplied() throws {
    let r = try check(spec(checks: "deadlock_free", "cpu c0 {\n  cover\n}"))
    #expect(r.program.spec.properties == [.deadlockFree, .reachable])
    let none = try check(spec(checks: "deadlock_free", "cpu c0 {\n  set_pte(a, none)\n}"))
    #expect(none.program.spec.properties == [.deadlockFree])
  }
}

/// The warnings and the `--coverage` table as the built binary prints them.
@Suite struct CoverageCommandLineTests {
  static let dead = """
    mode native
    pte a = present | pfn(1)
    lock ptl protects a
    expect pass
    cpu c0 {
      var v
      spin_lock(ptl)
      v = ptep_get(a)
      if v & dirty {
        set_pte(a, none)
      }
      spin_unlock(ptl)
    }

    """

  @Test("every run warns at file:line:col; --quiet in one line; --coverage adds the table")
  func binary() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("dead.spec", Self.dead)
    let warning = "\(path):10:5: warning: this statement of 'c0' never runs [coverage.never-ran]"
    let plain = try CommandLineTests.run(["--no-traces", path])
    #expect(plain.code == 0 && plain.out.contains(warning + "\n"), "\(plain.out)")
    #expect(plain.out.contains("    |     ^~~~~~~~~~~~~~~~ no explored execution gets here"))
    #expect(!plain.out.contains("transitions that ran each statement"))
    let quiet = try CommandLineTests.run(["--no-traces", "--quiet", path])
    // The spec's line, its warning, then the run's tally.
    let tally = "1 spec: 1 as expected, 0 differ, 0 incomplete, 0 errors\n"
    #expect(quiet.code == 0 && quiet.out.hasSuffix(warning + "\n" + tally), "\(quiet.out)")
    let table = try CommandLineTests.run(["--no-traces", "--coverage", path])
    #expect(table.out.contains("coverage of \(path): transitions that ran each statement"))
    #expect(
      table.out.contains("  c0  10:5  set_pte(a, none)            0  never ran"), "\(table.out)")
    #expect(table.out.contains("  c0  7:3   spin_lock(ptl)              1"))
  }
}
