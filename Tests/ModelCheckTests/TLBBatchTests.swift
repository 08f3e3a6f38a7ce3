import Testing

@testable import ModelCheck

/// A set of PTEs as a value (`pte_bit(p)`), and the TLB flushes of such a set:
/// `local_flush_tlb_pages(mask)` (this CPU) and `flush_tlb_pages(mask)` (every CPU at once),
/// which the backends in Library/ (sparc64's tlb_batch, powerpc hash's ppc64_tlb_batch) use
/// for their batches of pending addresses.
@Suite struct TLBBatchTests {
  /// Two PTEs zapped under one lock, both cached by `tlb` CPUs that use them, then FLUSH.
  static func zap(flush: String, tlbCPU: String, expect: String) -> String {
    """
    mode native
    pte a = present | write | pfn(1)
    pte b = present | write | pfn(2)
    lock ptl protects a, b
    tlb \(tlbCPU): a
    tlb \(tlbCPU): b
    hardware \(tlbCPU): read a, read b
    check no_stale_tlb, deadlock_free
    expect \(expect)
    cpu cpu0 {
      var x
      spin_lock(ptl)
      x = ptep_get_and_clear(a)
      x = ptep_get_and_clear(b)
      \(flush)
      spin_unlock(ptl)
    }
    cpu cpu1 { }
    """
  }

  @Test("pte_bit(p) is 1 << (index of p), also through a by-name parameter")
  func pteBitValues() throws {
    let r = try check(
      """
      mode native
      pte a = none
      pte b = none
      pte c = none
      check deadlock_free
      expect pass
      fn bit(p) {
        var v
        v = pte_bit(p)
        return v
      }
      cpu cpu0 {
        var x, y
        x = pte_bit(a) | pte_bit(c)
        assert(x == 5)
        y = bit(b)
        assert(y == 2)
      }
      """)
    #expect(r.status(.assertions) == .pass)
  }

  @Test("pte_bit takes a PTE among the first 8: errors at the argument, exit 2")
  func pteBitErrors() {
    let ptes = (0..<9).map { "pte p\($0) = none" }.joined(separator: "\n")
    let e = errors(
      """
      mode native
      \(ptes)
      cpu cpu0 {
        var x
        x = pte_bit(p8)
      }
      """)
    #expect(e.contains("'pte_bit(p8)': PTE number 9 has no bit, values are 8-bit"), "\(e)")
    #expect(e.contains("[sema.value-range]"), "\(e)")
    let fine = errors(
      """
      mode native
      \(ptes)
      cpu cpu0 {
        var x
        x = pte_bit(p7)
      }
      """)
    #expect(!fine.contains("sema.value-range"), "\(fine)")
    let value = errors(
      """
      mode native
      pte a = none
      cpu cpu0 {
        var x
        x = pte_bit(1)
      }
      """)
    #expect(value.contains("'pte_bit' takes a PTE name"), "\(value)")
    let unknown = errors(
      """
      mode native
      pte a = none
      cpu cpu0 {
        var x
        x = pte_bit(q)
      }
      """)
    #expect(unknown.contains("unknown PTE 'q'"), "\(unknown)")
  }

  @Test("local_flush_tlb_pages flushes every PTE of the mask, and only on this CPU")
  func localFlushPages() throws {
    let both = try check(
      Self.zap(
        flush: "local_flush_tlb_pages(pte_bit(a) | pte_bit(b))", tlbCPU: "cpu0", expect: "pass"))
    #expect(both.status(.noStaleTLB) == .pass)
    let one = try check(
      Self.zap(
        flush: "local_flush_tlb_pages(pte_bit(a))", tlbCPU: "cpu0", expect: "fail no_stale_tlb"))
    #expect(one.status(.noStaleTLB) == .fail)
    let remote = try check(
      Self.zap(
        flush: "local_flush_tlb_pages(pte_bit(a) | pte_bit(b))", tlbCPU: "cpu1",
        expect: "fail no_stale_tlb"))
    #expect(remote.status(.noStaleTLB) == .fail)
  }

  @Test("flush_tlb_pages flushes every PTE of the mask on every CPU at once")
  func flushPages() throws {
    for c in ["cpu0", "cpu1"] {
      let both = try check(
        Self.zap(flush: "flush_tlb_pages(pte_bit(a) | pte_bit(b))", tlbCPU: c, expect: "pass"))
      #expect(both.status(.noStaleTLB) == .pass)
      let one = try check(
        Self.zap(flush: "flush_tlb_pages(pte_bit(b))", tlbCPU: c, expect: "fail no_stale_tlb"))
      #expect(one.status(.noStaleTLB) == .fail)
    }
  }

  @Test("a mask over a register: the flushed set is the value at run time")
  func maskInRegister() throws {
    let r = try check(
      Self.zap(
        flush: "x = pte_bit(b)\n  x = x | pte_bit(a)\n  flush_tlb_pages(x)", tlbCPU: "cpu1",
        expect: "pass"))
    #expect(r.status(.noStaleTLB) == .pass)
  }

  @Test("a pinned CPU's cross-call never targets its own CPU: no handler context there")
  func pinnedCallerNoOwnHandler() throws {
    let r = try check(
      """
      mode native
      pte a = none
      check deadlock_free
      expect pass
      fn f() { }
      cpu cpu0 { smp_call_function_many(255, f, 1) }
      cpu cpu1
      """)
    let names = r.program.spec.cpus.map(\.name)
    #expect(names == ["cpu0", "cpu1/ipi:f"], "\(names)")
    #expect(r.status(.deadlockFree) == .pass)
  }

  @Test(
    "the backends' buggy specs: the why names the migration, or the flush never issued",
    arguments: [
      (
        "backends/powerpc-hash-enter-no-preempt.spec",
        "released zone_lock (line 43) before the TLB flush completed: t0 changed it on cpu0 and "
          + "was then moved to cpu1, so the flush it deferred on cpu0 (in that CPU's lazy batch) "
          + "was never done"
      ),
      (
        "backends/sparc64-leave-no-flush.spec",
        "released ptl (line 32) before the TLB flush completed: no TLB flush of old ran after "
          + "the change, so the flush it owed was still deferred"
      ),
    ])
  func backendWhy(_ relative: String, _ expected: String) throws {
    let (file, program) = try compiledSpec(relative)
    let result = Pipeline.check(program, file: file)
    let c = try #require(result.result(.noStaleTLB)?.counterexample)
    let why = Explanation.why(.noStaleTLB, Trace(program: program, counterexample: c), program)
    #expect(why.contains(expected), "why: \(why)")
    #expect(why.contains("-tlb-batch.spec:"), "why: \(why)")
  }
}
