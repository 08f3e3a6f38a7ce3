import PTState
import Testing

@Suite("Spinlocks: spin_lock and spin_unlock")
struct LockOpsTests {
  @Test("spin_lock takes a free lock for the CPU")
  func lockFree() {
    let f = Fixture(mode: .native, locks: 2)
    #expect(f.lock(1, 1))
    #expect(f.snap.lockHolder == [nil, 1])
    #expect(f.s[f.layout.lockHolder[1]] == 2)
    #expect(f.machine.locksHeld(f.s, by: 1) == 0b10)
    #expect(f.machine.locksHeld(f.s, by: 0) == 0)
  }

  @Test("spin_lock is not enabled while the lock is held, by another CPU or the same")
  func lockHeld() {
    let f = Fixture(mode: .native)
    #expect(f.lock(0))
    let before = f.raw
    #expect(!f.lock(1))
    #expect(!f.lock(0))
    #expect(f.raw == before)
    #expect(f.snap.lockHolder == [0])
  }

  @Test("spin_unlock releases a held lock without events")
  func unlockHeld() {
    let f = Fixture(mode: .native)
    f.lock(1)
    #expect(f.unlock(1).isEmpty)
    #expect(f.snap.lockHolder == [nil])
    #expect(f.lock(0))
  }

  @Test("spin_unlock of a lock not held reports unlockNotHeld and changes nothing")
  func unlockNotHeld() {
    let f = Fixture(mode: .native)
    #expect(f.unlock(0) == .unlockNotHeld)
    f.lock(1)
    let before = f.raw
    #expect(f.unlock(0) == .unlockNotHeld)
    #expect(f.raw == before)
    #expect(f.snap.lockHolder == [1])
  }

  @Test(
    "unlocking the lock lazy mode was entered under, batch non-empty, reports lazyUnbalanced",
    arguments: [ParavirtMode.direct, .shadow])
  func unlockLazyLockWithBatch(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.lock(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    #expect(f.unlock(0) == .lazyUnbalanced)
    // The lock is released all the same; the batch stays queued.
    let snap = f.snap
    #expect(snap.lockHolder == [nil])
    #expect(snap.cpus[0].queued == ["0=present|pfn(2)"])
  }

  @Test("unlocking the lazy lock with an empty batch is fine", arguments: ParavirtMode.allCases)
  func unlockLazyLockEmptyBatch(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.lock(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    f.flushLazy(0)
    #expect(f.unlock(0).isEmpty)
    #expect(f.snap.lockHolder == [nil])
  }

  @Test("native: the batch stays empty, so unlocking inside lazy mode is fine")
  func nativeUnlockInLazy() {
    let f = Fixture(mode: .native)
    f.lock(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    #expect(f.unlock(0).isEmpty)
  }

  @Test(
    "unlocking the ptl of a queued write is unbalanced even if lazy mode came first",
    arguments: [ParavirtMode.direct, .shadow])
  func unlockPTLOfQueuedWrite(_ mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.enter(0)
    f.lock(0, 0)
    f.setPTE(0, 0, .ro(2))
    #expect(f.snap.cpus[0].lazyLocks == 0)
    #expect(f.unlock(0, 0) == .lazyUnbalanced)
  }

  @Test("unlocking a lock taken after enter that protects no queued PTE is fine")
  func unlockLockTakenAfterEnter() {
    let f = Fixture(mode: .direct, locks: 2)
    f.lock(0, 0)
    f.enter(0)
    f.lock(0, 1)
    f.setPTE(0, 0, .ro(2))
    #expect(f.snap.cpus[0].lazyLocks == 0b01)
    #expect(f.unlock(0, 1).isEmpty)
    #expect(f.unlock(0, 0) == .lazyUnbalanced)
  }

  @Test("holdsPTL follows ptlOf")
  func holdsPTL() {
    let f = Fixture(mode: .direct, ptes: [.rw(1), .rw(2), .rw(3)], locks: 2, ptlOf: [0, 1, nil])
    f.lock(0, 0)
    f.lock(1, 1)
    #expect(f.machine.holdsPTL(f.s, program: 0, pte: 0))
    #expect(!f.machine.holdsPTL(f.s, program: 0, pte: 1))
    #expect(f.machine.holdsPTL(f.s, program: 1, pte: 1))
    #expect(!f.machine.holdsPTL(f.s, program: 0, pte: 2))
    #expect(!f.machine.holdsPTL(f.s, program: 1, pte: 2))
  }

  @Test("the machine's invariants: a reachable state has none broken, a corrupted one does")
  func invariants() {
    let f = Fixture(mode: .direct)
    #expect(f.machine.invariantViolation(f.s) == nil)
    f.lock(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    #expect(f.machine.invariantViolation(f.s) == nil)
    f.s[f.layout.lockHolder[0]] = 7  // no program 6
    #expect(f.machine.invariantViolation(f.s)?.contains("lock 0") == true)
    f.s[f.layout.lockHolder[0]] = 1
    f.s[f.layout.batchEntries[f.layout.batchBase[0] + 2]] = 1  // an unused slot written
    #expect(f.machine.invariantViolation(f.s)?.contains("unused") == true)
  }
}
