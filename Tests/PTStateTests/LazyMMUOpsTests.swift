import PTState
import Testing

@Suite("Lazy MMU mode: enter, leave, flush and the per-CPU batch")
struct LazyMMUOpsTests {
  @Test(
    "enter sets lazy and records the locks held; leave clears both",
    arguments: ParavirtMode.allCases)
  func enterLeaveBookkeeping(mode: ParavirtMode) {
    let f = Fixture(mode: mode, locks: 3)
    #expect(f.lock(1, 0))
    #expect(f.lock(1, 2))
    #expect(f.lock(0, 1))
    #expect(f.machine.locksHeld(f.s, by: 1) == 0b101)
    #expect(f.enter(1).isEmpty)
    var snap = f.snap
    #expect(snap.cpus[1].lazy)
    #expect(snap.cpus[1].lazyLocks == 0b101)
    #expect(!snap.cpus[0].lazy)
    #expect(f.machine.isLazy(f.s, Actor(pinned: 1)))
    #expect(!f.machine.isLazy(f.s, Actor(pinned: 0)))
    #expect(f.leave(1).isEmpty)
    snap = f.snap
    #expect(!snap.cpus[1].lazy)
    #expect(snap.cpus[1].lazyLocks == 0)
    #expect(snap.lockHolder == [1, 0, 1])
  }

  @Test(
    "entering lazy mode twice reports lazyNesting (the flag hooks do not nest)",
    arguments: ParavirtMode.allCases)
  func enterTwice(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    #expect(f.enter(0).isEmpty)
    #expect(f.enter(0) == .lazyNesting)
    #expect(f.snap.cpus[0].lazy)
  }

  @Test("leaving lazy mode without entering reports lazyNesting", arguments: ParavirtMode.allCases)
  func leaveWithoutEnter(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    let before = f.raw
    #expect(f.leave(0) == .lazyNesting)
    #expect(f.raw == before)
  }

  @Test(
    "one CPU's lazy mode does not affect another's set_pte",
    arguments: [ParavirtMode.direct, .shadow])
  func lazyIsPerCPU(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.enter(0)
    #expect(f.setPTE(1, 0, .ro(2)).isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.ro(2)])
    if mode == .shadow { #expect(snap.shadow == [.ro(2)]) }
    #expect(snap.cpus.allSatisfy { $0.batch.isEmpty })
  }

  @Test(
    "arch_flush_lazy_mmu_mode applies the batch and stays lazy",
    arguments: [ParavirtMode.direct, .shadow])
  func flushStaysLazy(mode: ParavirtMode) {
    let f = Fixture(mode: mode, ptes: [.rw(1), .rw(2)])
    f.lock(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(3))
    f.setPTE(0, 1, .none)
    #expect(f.snap.cpus[0].queued == ["0=present|pfn(3)", "1=none"])
    #expect(f.flushLazy(0).isEmpty)
    let snap = f.snap
    #expect(snap.cpus[0].lazy)
    #expect(snap.cpus[0].lazyLocks == 1)
    #expect(snap.cpus[0].batch.isEmpty)
    #expect(snap.mem == [.ro(3), .none])
    if mode == .shadow { #expect(snap.shadow == [.ro(3), .none]) }
  }

  @Test("flushing an empty batch changes nothing", arguments: ParavirtMode.allCases)
  func flushEmptyBatch(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.enter(0)
    let before = f.raw
    #expect(f.flushLazy(0).isEmpty)
    #expect(f.raw == before)
  }

  @Test("direct: with batchLimit 2 the second queued write applies both")
  func fullBatchFlushesDirect() {
    let f = Fixture(mode: .direct, ptes: [.rw(1), .rw(2)], batchLimit: 2)
    #expect(f.layout.batchSlots == [1, 1])
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(3)).isEmpty)
    #expect(f.snap.mem == [.rw(1), .rw(2)])
    #expect(f.snap.cpus[0].queued == ["0=present|pfn(3)"])
    #expect(f.setPTE(0, 1, .ro(4)).isEmpty)
    let snap = f.snap
    #expect(snap.mem == [.ro(3), .ro(4)])
    #expect(snap.logical == [.ro(3), .ro(4)])
    #expect(snap.cpus[0].batch.isEmpty)
    #expect(snap.cpus[0].lazy)
    // Unused slots are zeroed, so equal machines have equal words.
    #expect(f.s[f.layout.batchEntries[0]] == 0)
  }

  @Test("shadow: with batchLimit 2 the second queued sync applies both to the shadow")
  func fullBatchFlushesShadow() {
    let f = Fixture(mode: .shadow, ptes: [.rw(1), .rw(2)], batchLimit: 2)
    f.enter(0)
    f.setPTE(0, 0, .ro(3))
    #expect(f.snap.shadow == [.rw(1), .rw(2)])
    f.setPTE(0, 1, .ro(4))
    let snap = f.snap
    #expect(snap.mem == [.ro(3), .ro(4)])
    #expect(snap.shadow == [.ro(3), .ro(4)])
    #expect(snap.cpus[0].batch.isEmpty)
  }

  @Test("batchLimit 1: every queued write applies at once")
  func batchLimitOne() {
    let f = Fixture(mode: .direct, batchLimit: 1)
    #expect(f.layout.batchSlots == [0, 0])
    #expect(f.layout.batchEntries.isEmpty)
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(3)).isEmpty)
    #expect(f.snap.mem == [.ro(3)])
    #expect(f.snap.cpus[0].batch.isEmpty)
  }

  @Test("the batch applies in FIFO order: the last queued write to a PTE wins")
  func fifoOrder() {
    let f = Fixture(mode: .direct)
    f.enter(0)
    f.setPTE(0, 0, .ro(3))
    f.setPTE(0, 0, .ro(4))
    #expect(f.snap.cpus[0].queued == ["0=present|pfn(3)", "0=present|pfn(4)"])
    #expect(f.snap.logical == [.ro(4)])
    #expect(f.leave(0).isEmpty)
    #expect(f.snap.mem == [.ro(4)])
  }

  @Test("batch entries decode as (PTE index, value, preserve-A/D)")
  func batchEntryDecoding() {
    let f = Fixture(mode: .direct, ptes: [.rw(1), .rw(2), .rw(3)], batchLimit: 4)
    #expect(f.layout.pteIndexBits == 2)
    f.enter(0)
    f.enqueue(0, 2, PTE(rawValue: 0xFF), preserveAD: true)
    f.enqueue(0, 1, .none)
    let e0 = f.machine.batchEntry(f.s, cpu: 0, 0)
    #expect(e0.pte == 2)
    #expect(e0.value == PTE(rawValue: 0xFF))
    #expect(e0.preserveAD)
    let e1 = f.machine.batchEntry(f.s, cpu: 0, 1)
    #expect(e1.pte == 1)
    #expect(e1.value == .none)
    #expect(!e1.preserveAD)
    #expect(f.s[f.layout.batchEntries[0]] == 2 | (0xFF << 2) | (1 << 10))
    #expect(f.machine.batchCount(f.s, cpu: 0) == 2)
    #expect(f.machine.hasQueuedWrite(f.s, program: 0, pte: 1))
    #expect(f.machine.hasQueuedWrite(f.s, program: 0, pte: 2))
    #expect(!f.machine.hasQueuedWrite(f.s, program: 0, pte: 0))
    // Direct mode: enqueue alone does not touch the ghost values (set_pte does that).
    #expect(f.snap.logical == [.rw(1), .rw(2), .rw(3)])
  }

  @Test("a batch with fewer slots than the limit needs reports batchOverflow and drops the entry")
  func batchOverflow() {
    let f = Fixture(mode: .direct, batchLimit: 4, batchSlots: [1, 1])
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(2)).isEmpty)
    let before = f.raw
    #expect(f.enqueue(0, 0, .ro(3)) == .batchOverflow)
    #expect(f.raw == before)
    #expect(f.snap.cpus[0].queued == ["0=present|pfn(2)"])
  }

  @Test("leave flushes the batch even without a matching enter (and reports it)")
  func leaveWithoutEnterStillFlushes() {
    let f = Fixture(mode: .direct)
    f.enqueue(0, 0, .ro(2))
    #expect(f.leave(0) == .lazyNesting)
    #expect(f.snap.mem == [.ro(2)])
    #expect(f.snap.cpus[0].batch.isEmpty)
  }

  @Test("direct: a queued preserve-A/D entry ORs in the A/D bits memory has at the flush")
  func preserveADEntry() {
    let f = Fixture(mode: .direct)
    #expect(f.access(1, 0, .write).0)
    f.enter(0)
    #expect(f.modifyProtCommit(0, 0, .ro(2)).isEmpty)
    #expect(f.snap.cpus[0].queued == ["0=present|pfn(2) preserveAD"])
    #expect(f.leave(0).isEmpty)
    #expect(f.snap.mem == [PTE.ro(2).with(PTE.ad)])
    #expect(f.snap.logical == [PTE.ro(2).with(PTE.ad)])
  }
}
