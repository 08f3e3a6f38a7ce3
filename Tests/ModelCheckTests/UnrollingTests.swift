import Foundation
import Testing

@testable import ModelCheck

/// Program size after unrolling `repeat`: computed before lowering and the lock check, so
/// a spec that is too large is rejected at once, at the `repeat` to blame.
@Suite struct UnrollingTests {
  static func nested(_ levels: Int, _ body: String) -> String {
    String(repeating: "repeat 64 { ", count: levels) + body
      + String(repeating: " }", count: levels)
  }

  static func program(_ body: String) -> String {
    "mode native\npte a = present\nlock ptl protects a\nexpect pass\n"
      + "cpu c0 {\n  var x\n  \(body)\n}\n"
  }

  @Test(
    "nested repeats too large are rejected at the outermost one, in well under a second",
    arguments: [
      (
        "",
        "has size 68719476738 after unrolling 'repeat' (an iteration of an empty body"
          + " counts one)"
      ),
      ("x = ptep_get(a)", "has 68719476738 instructions after unrolling 'repeat'"),
      ("spin_lock(ptl) spin_unlock(ptl)", "has 137438953474 instructions after unrolling 'repeat'"),
    ])
  func nestedTooLarge(_ body: String, _ message: String) {
    let start = ContinuousClock.now
    let e = errors(Self.program("x = 1\n  " + Self.nested(6, body)))
    #expect(ContinuousClock.now - start < .milliseconds(500))
    let first = "test.spec:8:3: error: the program of 'c0' \(message) [sema.program-too-large]"
    #expect(e.hasPrefix(first), "got: \(e)")
    #expect(e.contains("  |   ^~~~~~ at most 60000"), "got: \(e)")
  }

  @Test("64 levels of empty repeats saturate instead of overflowing")
  func deepest() {
    let body = String(repeating: "repeat 64 { ", count: 60) + String(repeating: "}", count: 60)
    let e = errors(Self.program(body))
    #expect(e.contains("has size at least \(Int.max) after unrolling"), "got: \(e)")
  }

  @Test("the repeat blamed is the one that takes the program over the limit")
  func secondRepeat() {
    // 64 x 64 x 8 = 32,768 instructions each: the first fits, the second does not.
    let one = "repeat 64 { repeat 64 { repeat 8 { x = 1 } } }"
    let e = errors(Self.program("if x { \(one) }\n  either { x = 2 } or { \(one) }"))
    let first = "test.spec:8:25: error: the program of 'c0' has 65542 instructions"
    #expect(e.hasPrefix(first), "got: \(e)")
  }

  @Test("at the limit compiles; one more is rejected")
  func atTheLimit() throws {
    // 60,000 = 1 + 64 x 64 x 14 + 41 x 64 + 30 + the end.
    let fill = "repeat 41 { repeat 64 { x = 1 } } repeat 30 { x = 1 }"
    let body = "x = 1\n  " + Self.nested(2, "repeat 14 { x = 1 }") + "\n  " + fill
    let p = try compile(Self.program(body)).get()
    #expect(p.code.count == Unrolling.maxSize)
    #expect(errors(Self.program(body + " x = 2")).contains("has 60001 instructions"))
    // Empty bodies: 64 x 64 x 14 + 41 x 64 + 31 iterations, and the end.
    let empty = Self.nested(2, "repeat 14 { }") + " repeat 41 { repeat 64 { } } repeat 31 { }"
    _ = try compile(Self.program(empty)).get()
    let e = errors(Self.program(empty + " repeat 1 { }"))
    #expect(e.hasPrefix("test.spec:7:87:"), "got: \(e)")  // the last repeat
    #expect(e.contains("has size 60001"), "got: \(e)")
  }

  @Test(
    "the predicted size is what lowering emits",
    arguments: [
      "x = 1", "repeat 0 { x = 1 }", "repeat 3 { x = ptep_get_and_clear_full(a, 1) }",
      "if x { x = 1 } else { x = 2 }", "if x { repeat 2 { x = 1 } }",
      "loop { repeat 3 { if x { break } } x = ptep_get(a) }",
      "either { x = 1 } or { } or { repeat 2 { either { x = 2 } or { x = 3 } } }",
      "repeat 5 { loop { break } spin_lock(ptl) spin_unlock(ptl) }",
      "atomic { x = 1 atomic { repeat 2 { if x { x = ptep_get(a) } } } set_pte(a, none) }",
    ])
  func predictedSize(_ body: String) throws {
    let p = try compile(Self.program(body)).get()
    #expect(Unrolling.size(p.spec.cpus[0].body).instructions + 1 == p.code.count)
  }

  @Test("the predicted size is what lowering emits, for every program in Specs/")
  func predictedSizeOfSpecs() throws {
    for relative in SpecSuiteTests.specFiles {
      let url = packageRoot.appendingPathComponent("Specs/" + relative)
      let p = try compile(try String(contentsOf: url, encoding: .utf8), path: url.path).get()
      for k in p.spec.cpus.indices {
        let end = k + 1 < p.cpuStart.count ? p.cpuStart[k + 1] : p.code.count
        let cpu = p.spec.cpus[k]
        let predicted = Unrolling.size(cpu.body).instructions + Unrolling.framing(cpu)
        #expect(predicted == end - p.cpuStart[k], "\(relative)")
      }
    }
  }

  @Test("the lock check still follows each iteration of a repeat")
  func lockCheckInRepeat() {
    #expect(
      errors(Self.program("repeat 64 { repeat 64 { spin_lock(ptl) spin_unlock(ptl) } }"))
        == "(compiled without errors)")
    let e = errors(Self.program("spin_lock(ptl)\n  repeat 2 { spin_unlock(ptl) }"))
    let first = "test.spec:8:14: error: 'c0' releases 'ptl', which it cannot hold here"
    #expect(e.hasPrefix(first), "got: \(e)")
  }
}
