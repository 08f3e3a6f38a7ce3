import Testing

@testable import ModelCheck

/// What the effects column says about reads, failed cmpxchgs and counting registers.
@Suite struct TraceEffectsTests {
  /// The effects of each step of the first counterexample of `kind`.
  func effects(_ text: String, _ kind: PropertyKind) throws -> [[String]] {
    let r = try check(text)
    let c = try #require(r.result(kind)?.counterexample)
    return Trace(program: r.program, counterexample: c).steps.map(\.effects)
  }

  @Test("a read that leaves its register as it was still says what it saw")
  func unchangedRead() throws {
    // c0 reads b (none) into v, which already holds none: the read is shown anyway.
    let steps = try effects(
      spec(
        mode: "native", checks: "lazy_balanced", expect: "fail lazy_balanced",
        "cpu c0 {\n  var v\n  v = ptep_get(b)\n  arch_enter_lazy_mmu_mode()\n}"),
      .lazyBalanced)
    #expect(steps.first == ["c0.v = none (read, unchanged)"], "\(steps)")
  }

  @Test("a failed cmpxchg is marked FAILED with what it found and what it expected")
  func failedCmpxchg() throws {
    let steps = try effects(
      spec(
        mode: "native", checks: "lazy_balanced", expect: "fail lazy_balanced",
        """
        cpu c0 {
          var seen
          seen = cmpxchg(a, none, present | pfn(2))
          arch_enter_lazy_mmu_mode()
        }
        """), .lazyBalanced)
    let first = try #require(steps.first)
    #expect(first.first == "cmpxchg FAILED: a is present|pfn(1), not the expected none")
    #expect(first.contains("c0.seen = present|pfn(1)"))
  }

  @Test("a register given only integer literals prints as a number, a PTE one as flags")
  func numberRegisters() throws {
    let steps = try effects(
      spec(
        mode: "native", checks: "lazy_balanced", expect: "fail lazy_balanced",
        """
        cpu c0 {
          var tries = 0, v
          v = ptep_get(a)
          tries = 3
          arch_enter_lazy_mmu_mode()
        }
        """), .lazyBalanced)
    let all = steps.joined()
    #expect(all.contains("c0.tries = 3") && all.contains("c0.v = present|pfn(1)"), "\(all)")
    let r = try check(spec("cpu c0 {\n  var n = 2, p = present, f\n  f = ptep_get(a)\n}"))
    #expect(r.program.spec.cpus[0].numberRegisters == [0])
  }
}
