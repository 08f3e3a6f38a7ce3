import Testing

@testable import ModelCheck

/// One minimal spec per property event, each with its shortest counterexample counted by
/// hand: every event must reach its property's verdict (the `violations` mapping, the
/// end-of-program and final-state checks), including properties no spec in Specs/ fails.
@Suite struct PropertyEventTests {
  /// The failing properties and the length of each counterexample.
  func failures(_ text: String) throws -> [String: Int] {
    let r = try check(text)
    #expect(r.stopReason == nil)
    var out: [String: Int] = [:]
    for p in r.properties where p.status == .fail { out[p.kind.name] = p.counterexample?.length }
    return out
  }

  @Test("no_stale_read: reading back a write still queued in the own batch (3 steps)")
  func staleRead() throws {
    // enter, the queued set_pte, the read of the old value.
    let f = try failures(
      spec(
        checks: "no_stale_read", expect: "fail no_stale_read",
        """
        cpu c0 {
          var x
          arch_enter_lazy_mmu_mode()
          set_pte(a, present | write | pfn(2))
          x = ptep_get(a)
          arch_leave_lazy_mmu_mode()
        }
        """))
    #expect(f == ["no_stale_read": 3])
  }

  @Test("no_lost_dirty: a store over a Dirty bit the hardware just set (2 steps)")
  func lostDirty() throws {
    // The hardware write sets A and D on a; the store of none drops D.
    let f = try failures(
      """
      mode native
      pte a = present | write | pfn(1)
      hardware c0: write a
      check no_lost_dirty
      expect fail no_lost_dirty
      cpu c0 {
        set_pte(a, none)
      }
      """)
    #expect(f == ["no_lost_dirty": 2])
  }

  @Test("lazy_balanced: a program that ends in lazy mode (1 step)")
  func endsLazy() throws {
    let f = try failures(
      spec(
        checks: "lazy_balanced", expect: "fail lazy_balanced",
        "cpu c0 {\n  arch_enter_lazy_mmu_mode()\n}"))
    #expect(f == ["lazy_balanced": 1])
  }

  @Test("lazy_balanced: the entry lock released with a write still queued (4 steps)")
  func unlockWithBatch() throws {
    // lock, enter (under ptl), the queued write, the unlock; leave comes too late.
    let f = try failures(
      spec(
        checks: "lazy_balanced", expect: "fail lazy_balanced",
        """
        cpu c0 {
          spin_lock(ptl)
          arch_enter_lazy_mmu_mode()
          set_pte(a, none)
          spin_unlock(ptl)
          arch_leave_lazy_mmu_mode()
        }
        """))
    #expect(f == ["lazy_balanced": 4])
  }

  @Test("no_lost_update: a write based on a read another CPU has overwritten (3 steps)")
  func lostUpdate() throws {
    // c0 reads a, c1 writes a (c0's view is stale now), c0 writes on its stale view.
    let f = try failures(
      spec(
        mode: "native", checks: "no_lost_update", expect: "fail no_lost_update",
        """
        cpu c0 {
          var x
          x = ptep_get(a)
          set_pte(a, x | write)
        }
        cpu c1 {
          set_pte(a, none)
        }
        """))
    #expect(f == ["no_lost_update": 3])
  }

  @Test("lazy_nesting: the flag-based enter, twice (2 steps)")
  func nesting() throws {
    let body = """
      cpu c0 {
        arch_enter_lazy_mmu_mode()
        arch_enter_lazy_mmu_mode()
        arch_leave_lazy_mmu_mode()
      }
      """
    let f = try failures(
      spec(mode: "native", checks: "lazy_nesting", expect: "fail lazy_nesting", body))
    #expect(f == ["lazy_nesting": 2])
  }

  @Test("no_sleep_in_atomic: might_sleep() under a spinlock (2 steps)")
  func sleep() throws {
    let f = try failures(
      spec(
        mode: "native", checks: "no_sleep_in_atomic", expect: "fail no_sleep_in_atomic",
        "cpu c0 {\n  spin_lock(ptl)\n  might_sleep()\n  spin_unlock(ptl)\n}"))
    #expect(f == ["no_sleep_in_atomic": 2])
  }

  @Test("no_stale_tlb: a TLB hit after the unlock, before the flush (4 steps)")
  func staleTLB() throws {
    // lock, clear a (a flush is owed), unlock (a is exposed), c1's hardware hits its TLB.
    let f = try failures(
      spec(
        mode: "native", header: "tlb c1: a\nhardware c1: read a", checks: "no_stale_tlb",
        expect: "fail no_stale_tlb",
        """
        cpu c0 {
          spin_lock(ptl)
          set_pte(a, none)
          spin_unlock(ptl)
          flush_tlb(a)
        }
        cpu c1 {
        }
        """))
    #expect(f == ["no_stale_tlb": 4])
  }

  @Test("no_stale_tlb: a write through a TLB entry after the PTE was write-protected (4 steps)")
  func staleTLBWriteProtect() throws {
    // Dropping write permission (same page) also owes a flush: lock, write-protect,
    // unlock, then c1's hardware writes through its writable, dirty TLB entry.
    let f = try failures(
      """
      mode native
      pte a = present | write | dirty | pfn(1)
      lock ptl protects a
      tlb c1: a
      hardware c1: write a
      check no_stale_tlb
      expect fail no_stale_tlb
      cpu c0 {
        spin_lock(ptl)
        set_pte(a, present | dirty | pfn(1))
        spin_unlock(ptl)
        flush_tlb(a)
      }
      cpu c1 {
      }
      """)
    #expect(f == ["no_stale_tlb": 4])
  }

  @Test("no_pt_leak: freeing a page whose allocation failed (2 steps)")
  func freeUnallocated() throws {
    // pt_alloc's failure branch, then pt_free of a page that was never allocated.
    let f = try failures(
      spec(
        mode: "native", header: "ptpage pg", checks: "no_pt_leak", expect: "fail no_pt_leak",
        "cpu c0 {\n  var ok\n  ok = pt_alloc(pg)\n  pt_free(pg)\n}"))
    #expect(f == ["no_pt_leak": 2])
  }

  @Test("no_pt_leak: a page still allocated when every program has finished (1 step)")
  func leakAtEnd() throws {
    // The success branch ends the program with pg allocated: the final state is the
    // violation, with no extra step.
    let f = try failures(
      spec(
        mode: "native", header: "ptpage pg", checks: "no_pt_leak", expect: "fail no_pt_leak",
        "cpu c0 {\n  var ok\n  ok = pt_alloc(pg)\n}"))
    #expect(f == ["no_pt_leak": 1])
  }

  @Test("a handler that can never fire does not keep a finished run from finishing")
  func unfiredHandler() throws {
    // c0 ends with interrupts off, so h never fires; that final state is the end of the
    // run, not a deadlock. (h has code: an empty handler would be at its end anyway.)
    let r = try check(
      spec(
        mode: "native", checks: "deadlock_free",
        "cpu c0 {\n  local_irq_disable()\n}\ninterrupt h on c0 {\n  set_pte(b, none)\n}"))
    #expect(r.status(.deadlockFree) == .pass)
    #expect(r.completeRun != nil)
  }
}
