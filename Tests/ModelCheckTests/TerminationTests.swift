import Testing

@testable import ModelCheck

/// `terminates` (every program finishes on every weakly fair run), the stuck-state half of
/// `deadlock_free`, and graph passes that run out of memory.
@Suite struct TerminationTests {
  @Test("straight-line programs terminate")
  func straightLine() throws {
    let r = try check(spec(mode: "native", checks: "terminates", "cpu c0 {\n set_pte(a, none)\n}"))
    #expect(r.status(.terminates) == .pass)
  }

  @Test("a deadlock while the hardware can only repeat accesses that change nothing")
  func deadlockWithIdleHardware() throws {
    // ABBA; the hardware reads a PTE whose accessed bit is set already: its step is a
    // self-loop, and the run can repeat it forever with both programs stuck.
    let text = """
      mode direct
      pte a = present | accessed | pfn(1)
      lock l1
      lock l2
      hardware cpu0: read a
      check terminates
      expect fail terminates

      cpu cpu0 {
        spin_lock(l1)
        spin_lock(l2)
        spin_unlock(l2)
        spin_unlock(l1)
      }
      cpu cpu1 {
        spin_lock(l2)
        spin_lock(l1)
        spin_unlock(l1)
        spin_unlock(l2)
      }
      """
    let r = try check(text)
    #expect(r.status(.terminates) == .fail)
    #expect(r.matchesExpectation)
  }

  @Test("a busy-wait holding the lock its waker needs: a lasso, and a stuck-state deadlock")
  func busyWaitHoldingLock() throws {
    let text = spec(
      mode: "native", checks: "terminates, deadlock_free",
      expect: "fail terminates, deadlock_free",
      """
      cpu c0 {
        var f
        spin_lock(ptl)
        loop {
          f = ptep_get(b)
          if f == present { break }
        }
        spin_unlock(ptl)
      }
      cpu c1 {
        spin_lock(ptl)
        spin_unlock(ptl)
        set_pte(b, present)
      }
      """)
    let r = try check(text)
    #expect(r.matchesExpectation)
    guard case .lasso(let prefix, let cycle)? = r.result(.terminates)?.counterexample else {
      Issue.record("no lasso")
      return
    }
    #expect(prefix.count == 1 && cycle.count == 1)  // spin_lock, then the spin forever
    #expect(r.result(.deadlockFree)?.counterexample?.length == 1)
  }

  @Test("a wait its waker can always end terminates under weak fairness")
  func fairWaitEnds() throws {
    let text = spec(
      mode: "native", checks: "terminates, deadlock_free",
      """
      cpu c0 {
        var f
        loop {
          f = ptep_get(b)
          if f == present { break }
        }
      }
      cpu c1 {
        set_pte(b, present)
      }
      """)
    let r = try check(text)
    // Unfairly c1 may never run, but a weakly fair scheduler must run it.
    #expect(r.status(.terminates) == .pass)
    #expect(r.status(.deadlockFree) == .pass)
  }

  @Test("a program that rewrites a PTE forever never terminates, but is no deadlock")
  func foreverLoop() throws {
    let text = spec(
      mode: "native", checks: "terminates, deadlock_free", expect: "fail terminates",
      """
      cpu c0 {
        loop {
          set_pte(b, present)
          set_pte(b, none)
        }
      }
      """)
    let r = try check(text)
    #expect(r.matchesExpectation)
    #expect(r.status(.deadlockFree) == .pass)
  }

  @Test("a spin on a condition the hardware can still change is not stuck")
  func hardwareCanWake() throws {
    let text = spec(
      mode: "native", header: "hardware c1: read a", checks: "deadlock_free",
      """
      cpu c0 {
        var x
        loop {
          x = ptep_get(a)
          if x & accessed { break }
        }
      }
      cpu c1
      """)
    let r = try check(text)
    #expect(r.status(.deadlockFree) == .pass)
  }

  @Test("the retry analysis stops as incomplete when the memory limit cannot hold it")
  func livenessUnderMemoryLimit() throws {
    let text = spec(
      mode: "direct", checks: "cmpxchg_terminates",
      """
      cpu c0 {
        var old, seen
        old = ptep_get(a)
        loop {
          seen = cmpxchg(a, old, present | write | pfn(1))
          if seen == old { break }
          old = seen
        }
      }
      cpu c1 {
        set_pte(a, present | pfn(2))
      }
      """)
    let free = try check(text)
    #expect(free.status(.cmpxchgTerminates) == .pass)
    // Room for exploration, none for the analysis: incomplete, never a pass or a crash.
    let tight = try check(text, limits: Limits(maxMemoryBytes: free.statistics.storeBytes + 8))
    #expect(tight.stopReason == nil)
    #expect(tight.status(.cmpxchgTerminates) == .incomplete)
    #expect(!tight.matchesExpectation)
  }
}
