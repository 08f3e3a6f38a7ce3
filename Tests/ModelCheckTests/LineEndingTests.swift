import Testing

@testable import ModelCheck

/// CRLF, LF and lone-CR line ends: positions, snippets and quoted operation text are the
/// same whichever a file uses (in Swift "\r\n" is one Character, so this is easy to break).
@Suite struct LineEndingTests {
  static func lines(unlock: String) -> [String] {
    [
      "mode direct", "pte a = present | pfn(1)", "lock ptl protects a", "check no_stale_read",
      "expect fail no_stale_read", "cpu cpu0 {", "  var pte", "  spin_lock(ptl)",
      "  arch_enter_lazy_mmu_mode() // a comment", "  set_pte(a, present | write | pfn(2))",
      "  pte = ptep_get(a)", "  arch_leave_lazy_mmu_mode()", "  spin_unlock(\(unlock))", "}",
    ]
  }

  /// The spec with its line ends taken in turn from `ends`.
  static func text(_ ends: [String], unlock: String = "ptl") -> String {
    var s = ""
    for (i, l) in lines(unlock: unlock).enumerated() { s += l + ends[i % ends.count] }
    return s
  }

  static let endings: [[String]] = [["\n"], ["\r\n"], ["\r"], ["\r\n", "\n", "\r"]]

  @Test("a diagnostic after line 1 shows its line and a caret", arguments: endings)
  func diagnostic(_ ends: [String]) {
    let e = errors(Self.text(ends, unlock: "ptlx"))
    #expect(
      e == """
        test.spec:13:15: error: unknown lock 'ptlx' [spec.unknown-name]
         12 |   arch_leave_lazy_mmu_mode()
         13 |   spin_unlock(ptlx)
            |               ^~~~ did you mean 'ptl'?
        test.spec:3:6: note: 'ptl' declared here

        """, "got: \(e)")
    #expect(!e.contains("\r"))
  }

  @Test("lines split at CRLF, LF and a lone CR, never keeping a CR")
  func sourceLines() {
    let f = SourceFile(path: "x", text: "a\r\nb\nc\rd\r\r\ne\r")
    #expect(f.lines == ["a", "b", "c", "d", "", "e", ""])
    #expect(SourceFile(path: "x", text: "one").lines == ["one"])
  }

  @Test("a line comment ends at a lone CR; an error at the end of a CR file has a caret")
  func crOnly() {
    let e = errors("mode native\rpte a = present\rexpect pass\r// no CPU\r")
    #expect(
      e == """
        test.spec:5:1: error: the spec declares no CPU [sema.no-cpus]
         4 | // no CPU
         5 | \("")
           | ^ add 'cpu cpu0 { ... }'

        """, "got: \(e)")
  }

  @Test("an unterminated string ends at a lone CR")
  func stringAtCR() {
    let e = errors("title \"open\rmode direct\r")
    #expect(e.hasPrefix("test.spec:1:7: error: unterminated string literal"), "got: \(e)")
  }

  @Test("trace operations quote the statement text", arguments: endings)
  func traceOperations(_ ends: [String]) throws {
    let r = try check(Self.text(ends))
    let c = try #require(r.result(.noStaleRead)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    #expect(
      trace.steps.map(\.operation) == [
        "spin_lock(ptl)", "arch_enter_lazy_mmu_mode()", "set_pte(a, present | write | pfn(2))",
        "pte = ptep_get(a)",
      ])
    #expect(trace.steps.map { $0.location?.start.line } == [8, 9, 10, 11])
    let json = JSONReport.counterexample(r.properties[0], trace, r).serialized()
    #expect(json.contains(#""operation": "pte = ptep_get(a)""#))
    #expect(!TextReport.counterexample(r.properties[0], trace, r).contains("\r"))
  }
}
