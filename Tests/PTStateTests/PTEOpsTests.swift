import PTState
import Testing

@Suite("PTE operations: set_pte, ptep_get, atomics, modify_prot")
struct PTEOpsTests {
  // MARK: set_pte

  @Test("native: set_pte lands in memory at once even inside lazy mode; the batch stays empty")
  func nativeSetPTEInLazy() {
    let f = Fixture(mode: .native)
    f.enter(0)
    let e = f.setPTE(0, 0, .ro(2))
    #expect(e.isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.ro(2)])
    #expect(snap.logical == [.ro(2)])
    #expect(snap.shadow == nil)
    #expect(snap.cpus[0].lazy)
    #expect(snap.cpus[0].batch.isEmpty)
    #expect(f.machine.batchCount(f.s, cpu: 0) == 0)
  }

  @Test("direct: set_pte inside lazy mode is queued; leave flushes it and empties the batch")
  func directSetPTEQueuedThenFlushedByLeave() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(2)).isEmpty)
    var snap = f.snap
    #expect(snap.mem == [.rw(1)])
    #expect(snap.logical == [.ro(2)])
    #expect(snap.cpus[0].queued == ["0=present|pfn(2)"])
    #expect(snap.cpus[1].batch.isEmpty)
    #expect(f.machine.hasQueuedWrite(f.s, program: 0, pte: 0))
    #expect(!f.machine.hasQueuedWrite(f.s, program: 1, pte: 0))

    #expect(f.leave(0).isEmpty)
    snap = f.snap
    #expect(snap.mem == [.ro(2)])
    #expect(snap.logical == [.ro(2)])
    #expect(snap.cpus[0].batch.isEmpty)
    #expect(!snap.cpus[0].lazy)
  }

  @Test("direct: set_pte outside lazy mode lands at once")
  func directSetPTEOutsideLazy() {
    let f = Fixture(mode: .direct)
    #expect(f.setPTE(1, 0, .none).isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.none])
    #expect(snap.logical == [.none])
    #expect(snap.cpus.allSatisfy { $0.batch.isEmpty })
  }

  @Test(
    "shadow: set_pte writes the guest table at once; the shadow keeps the old value until the flush"
  )
  func shadowSetPTEInLazy() {
    let f = Fixture(mode: .shadow)
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(3)).isEmpty)
    var snap = f.snap
    #expect(snap.mem == [.ro(3)])
    #expect(snap.shadow == [.rw(1)])
    #expect(snap.logical == [.ro(3)])
    #expect(snap.cpus[0].queued == ["0=present|pfn(3)"])

    #expect(f.flushLazy(0).isEmpty)
    snap = f.snap
    #expect(snap.mem == [.ro(3)])
    #expect(snap.shadow == [.ro(3)])
    #expect(snap.cpus[0].batch.isEmpty)
    #expect(snap.cpus[0].lazy)
  }

  @Test("shadow: set_pte outside lazy mode syncs the shadow at once")
  func shadowSetPTEOutsideLazy() {
    let f = Fixture(mode: .shadow)
    #expect(f.setPTE(0, 0, .ro(3)).isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.ro(3)])
    #expect(snap.shadow == [.ro(3)])
    #expect(snap.logical == [.ro(3)])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test(
    "set_pte clears the tlbFlushed ghost (an earlier flush no longer covers the new write)",
    arguments: ParavirtMode.allCases)
  func setPTEClearsTLBFlushed(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.flushTLB(0)
    #expect(f.snap.tlbFlushed == [true])
    f.setPTE(0, 0, .ro(2))
    #expect(f.snap.tlbFlushed == [false])
  }

  // MARK: ptep_get

  @Test(
    "direct: ptep_get under the PTE's lock with another CPU's queued write pending reports staleRead"
  )
  func lockedReadOfOtherCPUsQueuedWriteIsStale() {
    let f = Fixture(mode: .direct)
    f.enter(1)
    f.setPTE(1, 0, .ro(2))
    #expect(f.lock(0))
    let (v, e) = f.get(0, 0)
    #expect(v == .rw(1))
    #expect(e == .staleRead)
  }

  @Test("direct: ptep_get without the lock tolerates another CPU's pending write (racy read)")
  func unlockedReadIsNotEntitled() {
    let f = Fixture(mode: .direct)
    f.enter(1)
    f.setPTE(1, 0, .ro(2))
    let (v, e) = f.get(0, 0)
    #expect(v == .rw(1))
    #expect(e.isEmpty)
  }

  @Test(
    "direct: the writer reading back its own queued write reports staleRead even without the lock")
  func readHazardOnOwnQueuedWrite() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    let (v, e) = f.get(0, 0)
    #expect(v == .rw(1))
    #expect(e == .staleRead)
  }

  @Test("direct: arch_flush_lazy_mmu_mode before the read removes the read hazard")
  func flushBeforeReadIsFresh() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    #expect(f.flushLazy(0).isEmpty)
    let (v, e) = f.get(0, 0)
    #expect(v == .ro(2))
    #expect(e.isEmpty)
    #expect(f.snap.cpus[0].lazy)
  }

  @Test("ptep_get reads the (guest) page table, never the shadow", arguments: ParavirtMode.allCases)
  func ptepGetReadsMem(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.enter(0)
    f.setPTE(0, 0, .ro(5))
    f.leave(0)
    #expect(f.lock(0))
    let (v, e) = f.get(0, 0)
    #expect(v == .ro(5))
    #expect(e.isEmpty)
  }

  // MARK: Atomics

  @Test("direct lazy: xchg acts at once on memory and returns the old value")
  func xchgInLazyDirect() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    let (old, e) = f.xchg(0, 0, .ro(4))
    #expect(old == .rw(1))
    #expect(e.isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.ro(4)])
    #expect(snap.logical == [.ro(4)])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test("direct lazy: ptep_get_and_clear acts at once on memory")
  func getAndClearInLazyDirect() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    let (old, e) = f.getAndClear(0, 0)
    #expect(old == .rw(1))
    #expect(e.isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.none])
    #expect(snap.logical == [.none])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test("direct lazy: a successful cmpxchg stores at once and returns the seen value")
  func cmpxchgSuccessInLazyDirect() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    let (seen, e) = f.cmpxchg(0, 0, expected: .rw(1), new: .ro(6))
    #expect(seen == .rw(1))
    #expect(e.isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.ro(6)])
    #expect(snap.logical == [.ro(6)])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test(
    "cmpxchg that compares unequal stores nothing and reports cmpxchgFailed",
    arguments: ParavirtMode.allCases)
  func cmpxchgFailure(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    let (seen, e) = f.cmpxchg(0, 0, expected: .rw(2), new: .ro(6))
    #expect(seen == .rw(1))
    #expect(e == .cmpxchgFailed)
    let snap = f.snap
    #expect(snap.mem == [.rw(1)])
    #expect(snap.logical == [.rw(1)])
    if mode == .shadow { #expect(snap.shadow == [.rw(1)]) }
  }

  @Test("shadow: atomics write the guest table at once and queue the shadow sync in lazy mode")
  func shadowAtomicsQueueShadowSync() {
    let f = Fixture(mode: .shadow)
    f.enter(0)
    let (old, e) = f.xchg(0, 0, .ro(4))
    #expect(old == .rw(1))
    #expect(e.isEmpty)
    var snap = f.snap
    #expect(snap.mem == [.ro(4)])
    #expect(snap.shadow == [.rw(1)])
    #expect(snap.cpus[0].queued == ["0=present|pfn(4)"])
    f.leave(0)
    snap = f.snap
    #expect(snap.shadow == [.ro(4)])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test("the atomic read clears `unowned`", arguments: ParavirtMode.allCases)
  func atomicReadClearsUnowned(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    #expect(f.access(0, 0, .write) == (true, []))
    #expect(f.snap.unowned == [PTE.ad])
    let (old, e) = f.xchg(0, 0, .rw(1))
    #expect(old == PTE.rw(1).with(PTE.ad))
    #expect(e.isEmpty)
    let snap = f.snap
    #expect(snap.unowned == [0])
    #expect(snap.mem == [.rw(1)])
    #expect(snap.logical == [.rw(1)])
  }

  @Test("a cmpxchg is an update: it takes no responsibility for the A/D bits it sees")
  func cmpxchgKeepsBitsUnowned() {
    let f = Fixture(mode: .native)
    #expect(f.access(0, 0, .write).0)
    let (seen, e) = f.cmpxchg(0, 0, expected: .rw(1), new: .none)
    #expect(seen == PTE.rw(1).with(PTE.ad))
    #expect(e == .cmpxchgFailed)
    #expect(f.snap.unowned == [PTE.ad])
    #expect(f.snap.mem == [PTE.rw(1).with(PTE.ad)])
    // A retry that carries the bits it saw loses nothing ...
    #expect(f.cmpxchg(0, 0, expected: seen, new: PTE.ro(1).with(PTE.ad)).1.isEmpty)
    // ... and one that drops them loses dirty.
    let (again, _) = f.cmpxchg(0, 0, expected: PTE.ro(1).with(PTE.ad), new: .ro(1))
    #expect(again == PTE.ro(1).with(PTE.ad))
    #expect(f.snap.mem == [.ro(1)])
  }

  @Test("a cmpxchg that drops a hardware-set dirty bit reports lostDirty")
  func cmpxchgDroppingDirty() {
    let f = Fixture(mode: .native)
    #expect(f.access(0, 0, .write).0)
    #expect(f.cmpxchg(0, 0, expected: PTE.rw(1).with(PTE.ad), new: .ro(1)).1 == .lostDirty)
  }

  // MARK: Lost dirty

  @Test(
    "a plain set_pte without dirty after a hardware write reports lostDirty",
    arguments: ParavirtMode.allCases)
  func setPTEOverHardwareDirtyLosesIt(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    #expect(f.access(0, 0, .write) == (true, []))
    var snap = f.snap
    #expect(snap.mem == [PTE.rw(1).with(PTE.ad)])
    #expect(snap.logical == [PTE.rw(1).with(PTE.ad)])
    #expect(snap.unowned == [PTE.ad])

    let e = f.setPTE(1, 0, .ro(1))
    #expect(e == .lostDirty)
    snap = f.snap
    #expect(snap.mem == [.ro(1)])
    #expect(snap.logical == [.ro(1)])
    #expect(snap.unowned == [0])
  }

  @Test("set_pte after an atomic read (xchg) loses nothing", arguments: ParavirtMode.allCases)
  func setPTEAfterXchgLosesNothing(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    #expect(f.access(0, 0, .write).0)
    #expect(f.xchg(1, 0, .rw(1)).1.isEmpty)
    #expect(f.setPTE(1, 0, .ro(1)).isEmpty)
    #expect(f.snap.mem == [.ro(1)])
  }

  @Test("set_pte after ptep_get_and_clear loses nothing", arguments: ParavirtMode.allCases)
  func setPTEAfterGetAndClearLosesNothing(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    #expect(f.access(0, 0, .write).0)
    let (old, e) = f.getAndClear(1, 0)
    #expect(old == PTE.rw(1).with(PTE.ad))
    #expect(e.isEmpty)
    #expect(f.setPTE(1, 0, .ro(1)).isEmpty)
    #expect(f.snap.mem == [.ro(1)])
    #expect(f.snap.unowned == [0])
  }

  @Test("a set_pte keeping the dirty bit loses nothing", arguments: ParavirtMode.allCases)
  func setPTEKeepingDirty(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    #expect(f.access(0, 0, .write).0)
    #expect(f.setPTE(1, 0, PTE.ro(1).with(PTE.ad)).isEmpty)
    // Carried over by a plain write, the bits are still nobody's: they stay unowned.
    #expect(f.snap.unowned == [PTE.ad])
  }

  @Test(
    "accessed alone lost is not reported unless accessed is tracked",
    arguments: ParavirtMode.allCases)
  func accessedOnlyLost(mode: ParavirtMode) {
    let untracked = Fixture(mode: mode)
    #expect(untracked.access(0, 0, .read) == (true, []))
    #expect(untracked.snap.unowned == [PTE.accessedBit])
    #expect(untracked.setPTE(1, 0, .ro(1)).isEmpty)
    #expect(untracked.snap.logical == [.ro(1)])

    let tracked = Fixture(mode: mode, tracked: PTE.dirtyBit | PTE.accessedBit)
    #expect(tracked.access(0, 0, .read) == (true, []))
    #expect(tracked.setPTE(1, 0, .ro(1)) == .lostDirty)
    #expect(tracked.snap.mem == [.ro(1)])
  }

  @Test(
    "direct lazy: hardware dirtying the old value before the queued write lands is lost at the flush"
  )
  func directQueuedWriteLosesDirtyAtFlush() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)
    #expect(f.access(1, 0, .write) == (true, []))
    var snap = f.snap
    #expect(snap.mem == [PTE.rw(1).with(PTE.ad)])
    #expect(snap.logical == [PTE.ro(1).with(PTE.ad)])
    #expect(f.leave(0) == .lostDirty)
    snap = f.snap
    #expect(snap.mem == [.ro(1)])
    #expect(snap.logical == [.ro(1)])
    #expect(snap.unowned == [0])
  }

  // MARK: ptep_modify_prot_start / commit

  @Test("native: ptep_modify_prot_start is a get-and-clear")
  func nativeModifyProtStart() {
    let f = Fixture(mode: .native)
    let (v, e) = f.modifyProtStart(0, 0)
    #expect(v == .rw(1))
    #expect(e.isEmpty)
    #expect(f.snap.mem == [.none])
    #expect(f.snap.logical == [.none])
    // The PTE is not present during the transaction: hardware cannot set A/D behind it.
    #expect(f.access(1, 0, .write) == (false, []))
    #expect(f.modifyProtCommit(0, 0, .ro(1)).isEmpty)
    #expect(f.snap.mem == [.ro(1)])
    #expect(f.snap.logical == [.ro(1)])
  }

  @Test("shadow: ptep_modify_prot_start is a get-and-clear, synced to the shadow outside lazy mode")
  func shadowModifyProtStart() {
    let f = Fixture(mode: .shadow)
    let (v, e) = f.modifyProtStart(0, 0)
    #expect(v == .rw(1))
    #expect(e.isEmpty)
    #expect(f.snap.mem == [.none])
    #expect(f.snap.shadow == [.none])
    #expect(f.modifyProtCommit(0, 0, .ro(1)).isEmpty)
    #expect(f.snap.mem == [.ro(1)])
    #expect(f.snap.shadow == [.ro(1)])
  }

  @Test("direct: ptep_modify_prot_start is a plain read (memory unchanged)")
  func directModifyProtStart() {
    let f = Fixture(mode: .direct)
    let before = f.raw
    let (v, e) = f.modifyProtStart(0, 0)
    #expect(v == .rw(1))
    #expect(e.isEmpty)
    #expect(f.raw == before)
    #expect(f.snap.mem == [.rw(1)])
  }

  @Test("direct: commit with preserve-A/D keeps hardware bits set between start and commit")
  func directCommitPreservesAD() {
    let f = Fixture(mode: .direct)
    #expect(f.modifyProtStart(0, 0).0 == .rw(1))
    #expect(f.access(1, 0, .write) == (true, []))
    #expect(f.modifyProtCommit(0, 0, .ro(1)).isEmpty)
    let snap = f.snap
    #expect(snap.mem == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.logical == [PTE.ro(1).with(PTE.ad)])
    // Nobody read the preserved bits atomically: they stay unowned, so a later plain
    // write that drops dirty loses it.
    #expect(snap.unowned == [PTE.ad])
    #expect(f.setPTE(0, 0, .ro(1)) == .lostDirty)
  }

  @Test("a write that maps another page loses the old page's dirty bit even if it sets dirty")
  func remapLosesOldDirty() {
    let f = Fixture(mode: .native)
    #expect(f.access(1, 0, .write) == (true, []))
    #expect(f.setPTE(0, 0, PTE.rw(2).with(PTE.dirtyBit)) == .lostDirty)
    #expect(f.snap.unowned == [0])
    #expect(f.snap.logical == [PTE.rw(2).with(PTE.dirtyBit)])
  }

  @Test("direct lazy: the commit is queued with preserve-A/D; bits set before the flush survive")
  func directLazyCommitPreservesAD() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    #expect(f.modifyProtStart(0, 0).0 == .rw(1))
    #expect(f.access(1, 0, .read) == (true, []))
    #expect(f.modifyProtCommit(0, 0, .ro(1)).isEmpty)
    var snap = f.snap
    #expect(snap.mem == [PTE.rw(1).with(PTE.accessedBit)])
    #expect(snap.logical == [.ro(1)])
    #expect(snap.cpus[0].queued == ["0=present|pfn(1) preserveAD"])
    // Hardware dirties the old, still writable value while the commit is queued.
    #expect(f.access(1, 0, .write) == (true, []))
    #expect(f.leave(0).isEmpty)
    snap = f.snap
    #expect(snap.mem == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.logical == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.unowned == [PTE.ad])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test("native: commit is a plain store that reports lostDirty over hardware bits it drops")
  func nativeCommitIsPlainStore() {
    let f = Fixture(mode: .native)
    #expect(f.access(1, 0, .write).0)
    // A commit without a start (spec error) behaves as set_pte.
    #expect(f.modifyProtCommit(0, 0, .ro(1)) == .lostDirty)
    #expect(f.snap.mem == [.ro(1)])
  }
}
