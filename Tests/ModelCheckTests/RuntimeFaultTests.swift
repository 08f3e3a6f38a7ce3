import Foundation
import Testing

@testable import ModelCheck

/// Runtime faults are rendered like every other diagnostic: `file:line:col`, the source
/// line and a caret; a loop without a kernel operation points at the `loop` itself.
@Suite struct RuntimeFaultTests {
  static func rendered(_ body: String) throws -> String {
    let text =
      "mode native\npte a = present\nlock ptl protects a\nexpect pass\ncpu c0 {\n" + body
      + "\n}\n"
    let r = try check(text)
    guard let f = r.stopReason?.runtimeFault, let run = r.faultRun else {
      return "(no fault)"
    }
    let d = FaultReport.diagnostic(r.program, run: run, fault: f)
    return DiagnosticRenderer.render(d, in: r.file)
  }

  @Test("a loop in the initial state: at the loop, with its line and a caret")
  func initialState() throws {
    #expect(
      try Self.rendered("  var x\n  loop { x = 1 }") == """
        test.spec:7:3: error: a program looped more than 100000 times without a kernel \
        operation [check.runtime-fault]
         6 |   var x
         7 |   loop { x = 1 }
           |   ^~~~ 'c0' is stuck in this loop

        """)
  }

  @Test("a loop after a kernel operation: at the loop, not at the operation before it")
  func afterAStep() throws {
    let e = try Self.rendered("  var x\n  set_pte(a, none)\n  loop {\n    x = x ^ 1\n  }")
    #expect(e.hasPrefix("test.spec:8:3: error: a program looped more than 100000 times"), "\(e)")
    #expect(e.contains(" 8 |   loop {\n   |   ^~~~ 'c0' is stuck in this loop\n"), "\(e)")
  }

  @Test("nested loops: the inner one that never ends")
  func innerLoop() throws {
    let e = try Self.rendered("  var x\n  loop {\n    set_pte(a, none)\n    loop { x = 1 }\n  }")
    #expect(e.hasPrefix("test.spec:9:5: error: a program looped"), "\(e)")
  }

  @Test("nested loops: the outer one, when the inner one ends every time")
  func outerLoop() throws {
    let body = "  var x\n  set_pte(a, none)\n  loop {\n    x = x ^ 1\n    loop { break }\n  }"
    let e = try Self.rendered(body)
    #expect(e.hasPrefix("test.spec:8:3: error: a program looped"), "\(e)")
  }

  @Test("a lock released that is not held: at the spin_unlock, naming the lock")
  func unlockNotHeld() throws {
    let e = try Self.rendered("  var x\n  if x { spin_lock(ptl) }\n  spin_unlock(ptl)")
    #expect(
      e == """
        test.spec:8:3: error: a program released a lock it does not hold [check.runtime-fault]
         7 |   if x { spin_lock(ptl) }
         8 |   spin_unlock(ptl)
           |   ^~~~~~~~~~~~~~~~ 'c0' does not hold 'ptl' here

        """, "\(e)")
  }

  @Test("the runner prints the rendered fault on standard error, with exit 2")
  func runner() throws {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("fault-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("loops.spec").path
    try "mode native\npte a = present\nexpect pass\ncpu c0 {\n  var x\n  loop { x = 1 }\n}\n"
      .write(toFile: path, atomically: true, encoding: .utf8)
    var options = try Options.parse([path])
    options.writeTraces = false
    var err = ""
    let code = Runner.run(options, out: { _ in }, err: { err += $0 })
    #expect(code == .usageOrSpecError)
    #expect(err.hasPrefix("\(path):6:3: error: a program looped more than 100000 times"), "\(err)")
    #expect(err.contains(" 6 |   loop { x = 1 }\n   |   ^~~~"), "\(err)")
  }
}
