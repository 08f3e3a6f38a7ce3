import PTState
import Testing

@Suite("TLB: flush_tlb shootdown and eviction")
struct TLBOpsTests {
  @Test(
    "flush_tlb empties every CPU's slot for that PTE and sets tlbFlushed",
    arguments: ParavirtMode.allCases)
  func flushEmptiesAllCPUs(mode: ParavirtMode) {
    let f = Fixture(mode: mode, ptes: [.rw(1), .ro(2)], tlb: true)
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.access(1, 0, .write) == (true, []))
    #expect(f.access(0, 1, .read) == (true, []))
    #expect(
      f.snap.cpus.map(\.tlb) == [
        [PTE.rw(1).with(PTE.accessedBit), PTE.ro(2).with(PTE.accessedBit)],
        [PTE.rw(1).with(PTE.ad), .none],
      ])
    f.flushTLB(0)
    let snap = f.snap
    #expect(snap.cpus.map(\.tlb) == [[.none, PTE.ro(2).with(PTE.accessedBit)], [.none, .none]])
    #expect(snap.tlbFlushed == [true, false])
    // Only TLB and ghost state change: the PTE keeps its hardware bits.
    #expect(snap.mem[0] == PTE.rw(1).with(PTE.ad))
  }

  @Test("evictTLB empties one CPU's slot; with nothing cached it is not enabled")
  func evict() {
    let f = Fixture(mode: .native, tlb: true)
    #expect(!f.evict(0, 0))
    #expect(f.access(0, 0, .read).0)
    #expect(f.access(1, 0, .read).0)
    #expect(f.evict(0, 0))
    #expect(f.snap.cpus.map(\.tlb) == [[.none], [PTE.rw(1).with(PTE.accessedBit)]])
    #expect(!f.evict(0, 0))
    #expect(f.snap.tlbFlushed == [false])
  }

  @Test("evictTLB without a TLB slot is never enabled")
  func evictWithoutSlot() {
    let f = Fixture(mode: .native, tlb: false)
    #expect(f.access(0, 0, .read).0)
    #expect(!f.evict(0, 0))
  }

  @Test("direct lazy: the writer's own flush_tlb is queued behind its write, so no walk is stale")
  func ownFlushIsQueued() {
    let f = Fixture(mode: .direct, tlb: true)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    f.flushTLB(0)
    #expect(f.snap.tlbFlushed == [false])
    #expect(f.access(1, 0, .read) == (true, []))  // racy, and no flush promise made yet
  }

  @Test("direct: another CPU's flush_tlb while a write is still queued: the walk is stale")
  func staleWalkDirect() {
    let f = Fixture(mode: .direct, cpus: 3, tlb: true)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    f.flushTLB(0, cpu: 1)  // cpu1 is not lazy: its flush completes at once
    let (ok, e) = f.access(2, 0, .read)
    #expect(ok)  // the old mapping is still present in memory
    #expect(e == .staleRead)
    #expect(f.snap.mem == [PTE.rw(1).with(PTE.accessedBit)])
  }

  @Test("direct lazy: once the batch is flushed the walk after flush_tlb is fresh")
  func freshWalkAfterLeave() {
    let f = Fixture(mode: .direct, tlb: true)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    f.leave(0)
    f.flushTLB(0)
    let (ok, e) = f.access(1, 0, .read)
    #expect(ok)
    #expect(e.isEmpty)
    #expect(f.snap.mem == [PTE.ro(2).with(PTE.accessedBit)])
    #expect(f.snap.logical == [PTE.ro(2).with(PTE.accessedBit)])
    #expect(f.snap.cpus[1].tlb == [PTE.ro(2).with(PTE.accessedBit)])
  }

  @Test("shadow: another CPU's flush_tlb while the shadow sync is queued: the walk is stale")
  func staleWalkShadow() {
    let f = Fixture(mode: .shadow, cpus: 3, tlb: true)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    f.flushTLB(0, cpu: 1)
    #expect(f.access(2, 0, .read).1.contains(.staleRead))
  }

  @Test("native: the write lands at once, so the walk after flush_tlb is fresh even in lazy mode")
  func nativeWalkAfterFlush() {
    let f = Fixture(mode: .native, tlb: true)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))
    f.flushTLB(0)
    #expect(f.access(1, 0, .read) == (true, []))
  }

  @Test("without a flush after the write, a walk is not checked (the flush promise is not made)")
  func noFlushNoCheck() {
    let f = Fixture(mode: .direct, tlb: true)
    f.flushTLB(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(2))  // clears tlbFlushed
    #expect(f.snap.tlbFlushed == [false])
    #expect(f.access(1, 0, .read) == (true, []))
  }

  @Test("a stale walk that faults still reports staleRead")
  func staleFaultingWalk() {
    let f = Fixture(mode: .direct, cpus: 3, ptes: [.none], tlb: true)
    f.enter(0)
    f.setPTE(0, 0, .rw(2))
    f.flushTLB(0, cpu: 1)
    let before = f.raw
    #expect(f.access(2, 0, .read) == (false, .staleRead))
    #expect(f.raw == before)
  }

  @Test("hardware bits set after the flush keep later walks fresh")
  func hardwareBitsKeepLogicalInStep() {
    let f = Fixture(mode: .native, tlb: true)
    f.flushTLB(0)
    #expect(f.access(0, 0, .write) == (true, []))
    #expect(f.evict(0, 0))
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.access(1, 0, .write) == (true, []))
    #expect(f.snap.tlbFlushed == [true])
  }

  @Test(
    "shadow lazy: A/D set through the stale shadow before the flush are in the guest, not the synced shadow"
  )
  func shadowSyncKeepsReflectedBits() {
    let f = Fixture(mode: .shadow, tlb: true)
    f.lock(0)
    f.enter(0)
    f.setPTE(0, 0, .ro(1))  // write-protect; shadow sync queued
    #expect(f.access(1, 0, .write) == (true, []))  // through the stale writable shadow
    #expect(f.leave(0).isEmpty)
    var snap = f.snap
    // The sync copies the guest entry as it is now, with the bits hardware reflected.
    #expect(snap.shadow == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.mem == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.logical == [PTE.ro(1).with(PTE.ad)])
    f.flushTLB(0)
    // Every write was synced before flush_tlb: the walk is not stale.
    #expect(f.access(1, 0, .read) == (true, []))
    snap = f.snap
    #expect(snap.shadow == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.cpus[1].tlb == [PTE.ro(1).with(PTE.ad)])
    // The software view is consistent: a locked read sees the logical value.
    #expect(f.get(0, 0) == (PTE.ro(1).with(PTE.ad), []))
  }
}
