import Testing

@testable import ModelCheck

/// Every class of spec error: `file:line:col: error: message [id]`, the source line and
/// a caret under the offending text.
@Suite struct DiagnosticsTests {
  @Test("a syntax error points at the token with what was expected")
  func syntaxError() {
    let text = "mode direct\npte a = present\ncpu cpu0 {\n  set_pte(a, present\n}\nexpect pass\n"
    #expect(
      errors(text) == """
        test.spec:5:1: error: expected ',' or ')', found '}' [spec.expected]
         4 |   set_pte(a, present
         5 | }
           | ^ expected ',' or ')'

        """)
  }

  @Test("an unknown name suggests the closest declared one and where it is declared")
  func unknownName() {
    let text =
      "mode direct\npte a = none\nlock ptl protects a\ncpu cpu0 {\n  spin_lock(ptl2)\n}\nexpect pass\n"
    #expect(
      errors(text) == """
        test.spec:5:13: error: unknown lock 'ptl2' [spec.unknown-name]
         4 | cpu cpu0 {
         5 |   spin_lock(ptl2)
           |             ^~~~ did you mean 'ptl'?
        test.spec:3:6: note: 'ptl' declared here

        """)
  }

  @Test("an empty file is an error at 1:1")
  func emptyFile() {
    #expect(errors("").hasPrefix("test.spec:1:1: error: the spec is empty [spec.empty]"))
    #expect(errors("  \n\n").hasPrefix("test.spec:1:1: error: the spec is empty [spec.empty]"))
  }

  @Test("a file of only comments is missing its declarations")
  func onlyComments() {
    let e = errors("// nothing here\n")
    #expect(e.contains("error: the spec does not say its paging mode [sema.missing-mode]"))
    #expect(e.contains("error: the spec declares no CPU [sema.no-cpus]"))
    #expect(e.contains("error: the spec states no expected verdict [sema.missing-expect]"))
  }

  @Test(
    "semantic errors",
    arguments: [
      ("spin_unlock(ptl)", "'cpu0' releases 'ptl', which it cannot hold here [sema.lock-not-held]"),
      ("set_pte(a)", "'set_pte' takes 2 arguments, not 1 [sema.arity]"),
      ("x = ptep_get(a)", "unknown register 'x' [spec.unknown-name]"),
      ("var x\n x = ptep_get(c)", "unknown PTE 'c' [spec.unknown-name]"),
      (
        "var x\n x = ptep_get(a) | 1",
        "kernel operation 'ptep_get' must be a statement or the whole right-hand side of an assignment [sema.op-in-expression]"
      ),
      ("set_pte(a, pfn(16))", "pfn 16 is out of range [sema.value-range]"),
      ("set_pte(a, 256)", "value 256 does not fit in a PTE (0...255) [sema.value-range]"),
      ("break", "'break' outside a loop [sema.break-outside-loop]"),
      ("frob(a)", "unknown kernel operation 'frob' [spec.unknown-name]"),
      ("set_pte(a, a)", "'a' is a PTE, not a value [sema.pte-as-value]"),
      (
        "repeat 65 { arch_enter_lazy_mmu_mode() }",
        "repeat count 65 is out of range [sema.bad-repeat]"
      ),
      ("mmput()", "'mmput' needs an 'mm' declaration [sema.mm-not-tracked]"),
      (
        "var x, f\n x = ptep_get_and_clear_full(a, f)",
        "the 'full' argument of ptep_get_and_clear_full must be a constant [sema.not-constant]"
      ),
    ])
  func semanticError(_ body: String, _ message: String) {
    let e = errors(
      "mode direct\npte a = none\nlock ptl protects a\ncpu cpu0 {\n \(body)\n}\nexpect pass\n")
    #expect(e.contains("error: \(message)"), "got: \(e)")
    #expect(e.hasPrefix("test.spec:"))
  }

  @Test(
    "declaration errors",
    arguments: [
      ("mode xen", "unknown paging mode 'xen' [sema.unknown-mode]"),
      (
        "mode direct\ncheck no_stale_reads",
        "unknown property 'no_stale_reads' [sema.unknown-property]"
      ),
      ("mode direct\nexpect pass", "'expect' is declared twice [spec.duplicate-declaration]"),
      ("mode direct\nbatch_limit 0", "batch limit 0 is out of range [sema.bad-batch-limit]"),
      (
        "mode direct\nlock l2 protects a",
        "PTE 'a' is already protected by 'ptl' [sema.pte-two-locks]"
      ),
      ("mode direct\nhardware cpu9: read a", "unknown CPU 'cpu9' [spec.unknown-name]"),
      ("mode direct\nhardware cpu0: poke a", "unknown access kind 'poke' [sema.bad-access]"),
      ("mode direct\npte a = none", "'a' is already declared [sema.duplicate-name]"),
      (
        "mode direct\ncheck no_lost_dirty bound 2",
        "only 'cmpxchg_terminates' takes a bound [sema.bound-not-allowed]"
      ),
      (
        "mode direct\ncheck cmpxchg_terminates bound 2, cmpxchg_terminates bound 3",
        "'cmpxchg_terminates' is given a bound twice [sema.bad-bound]"
      ),
      ("mode direct\nfoo", "unknown declaration 'foo' [spec.unknown-declaration]"),
      ("mode direct\nlazy_state per_mm", "unknown lazy state 'per_mm' [sema.bad-lazy-state]"),
      (
        "mode direct\ntask t on cpu0 { }",
        "task 't' cannot run on 'cpu0', which runs its own program [sema.cpu-has-program]"
      ),
      ("mode direct\ninterrupt i on cpu7 { }", "unknown CPU 'cpu7' [spec.unknown-name]"),
    ])
  func declarationError(_ decl: String, _ message: String) {
    let e = errors("pte a = none\nlock ptl protects a\n\(decl)\ncpu cpu0 {\n}\nexpect pass\n")
    #expect(e.contains("error: \(message)"), "got: \(e)")
  }

  @Test("a property expected to fail must be checked")
  func expectUnchecked() {
    let e = errors(
      "mode direct\npte a = none\ncheck no_stale_read\nexpect fail no_lost_dirty\ncpu c { }\n")
    #expect(
      e.contains(
        "error: 'no_lost_dirty' is expected to fail but is not checked [sema.expect-unchecked]"),
      "got: \(e)")
  }

  @Test(
    "lexical errors",
    arguments: [
      ("mode direct $", "unexpected character '$' [spec.unexpected-character]"),
      ("title \"open", "unterminated string literal [spec.unterminated-string]"),
      ("/* never closed", "unterminated '/*' comment [spec.unterminated-comment]"),
      ("batch_limit 99999999999", "invalid integer literal '99999999999' [spec.bad-integer]"),
    ])
  func lexicalError(_ text: String, _ message: String) {
    #expect(errors(text).contains("error: \(message)"), "got: \(errors(text))")
  }

  @Test("deep nesting is an error, not a stack overflow")
  func deepNesting() {
    let body = String(repeating: "if true { ", count: 500) + String(repeating: "} ", count: 500)
    #expect(errors("mode direct\ncpu c { \(body) }\nexpect pass").contains("[spec.too-deep]"))
    let expr =
      "mode direct\ncpu c { var x\n x = " + String(repeating: "(", count: 5000) + "1"
      + String(repeating: ")", count: 5000) + " }\nexpect pass"
    #expect(errors(expr).contains("[spec.too-deep]"))
  }

  @Test("a carets spans the whole token and tabs are kept in the caret line")
  func caretWithTabs() {
    let e = errors("mode direct\npte a = none\ncpu cpu0 {\n\tspin_lock(nolock)\n}\nexpect pass\n")
    #expect(e.contains(" | \t          ^~~~~~"))
  }
}
