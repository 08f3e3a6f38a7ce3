import PTState
import Testing

/// TLB discipline: cached translations, flush owed after a downgrade, exposure at unlock,
/// batched flushes in lazy mode, and the asynchronous shootdown.
@Suite("TLB discipline: no_stale_tlb, batched and asynchronous flushes")
struct StaleTLBTests {
  @Test("a TLB slot caches the translation it was filled from")
  func cachesTranslation() {
    let f = Fixture(mode: .native, tlb: true)
    #expect(f.access(1, 0, .read) == (true, []))
    #expect(f.snap.cpus[1].tlb == [PTE.rw(1).with(PTE.accessedBit)])
  }

  @Test("a hit on an old translation after the downgrade was published by the unlock is stale")
  func staleHitAfterUnlock() {
    let f = Fixture(mode: .native, tlb: true, staleTLB: true, initialTLB: true)
    f.lock(0)
    #expect(f.getAndClear(0, 0).1.isEmpty)
    #expect(f.snap.flushOwed == [true])
    #expect(f.access(1, 0, .read) == (true, []))  // still under the lock: not exposed
    f.unlock(0)
    #expect(f.snap.exposed == [true])
    #expect(f.access(1, 0, .read) == (true, .staleTLB))
    f.flushTLB(0)
    #expect(
      f.snap.exposed == [false] && f.snap.flushOwed == [false] && f.snap.cpus[1].tlb == [.none])
  }

  @Test("an upgrade owes no flush")
  func upgradeOwesNothing() {
    let f = Fixture(mode: .native, ptes: [.ro(1)], tlb: true, staleTLB: true, initialTLB: true)
    #expect(f.setPTE(0, 0, .rw(1)).isEmpty)
    #expect(f.snap.flushOwed == [false])
  }

  @Test("in lazy direct mode flush_tlb is queued behind the writes and completes at the flush")
  func batchedFlush() {
    let f = Fixture(mode: .direct, tlb: true)
    #expect(f.access(1, 0, .read).0)
    f.enter(0)
    #expect(f.setPTE(0, 0, .none).isEmpty)
    #expect(f.flushTLB(0).isEmpty)
    #expect(f.snap.cpus[0].batch.map(\.isFlush) == [false, true])
    #expect(f.snap.cpus[1].tlb != [.none])  // not yet flushed
    #expect(f.leave(0).isEmpty)
    #expect(f.snap.cpus[1].tlb == [.none] && f.snap.mem == [.none] && f.snap.tlbFlushed == [true])
  }

  @Test("asynchronous shootdown: start sends IPIs, each CPU handles its own, wait completes")
  func asyncShootdown() {
    let f = Fixture(mode: .native, cpus: 3, tlb: true, asyncShootdown: true, initialTLB: true)
    f.machine.flushTLBStart(f.s, Actor(pinned: 0), pte: 0)
    #expect(f.snap.cpus.map(\.ipiPending) == [[false], [true], [true]])
    #expect(f.snap.cpus[0].tlb == [.none])
    #expect(!f.machine.flushTLBWait(f.s, Actor(pinned: 0), pte: 0))
    #expect(f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(1), pte: 0))
    #expect(!f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(1), pte: 0))
    #expect(f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(2), pte: 0))
    #expect(f.machine.flushTLBWait(f.s, Actor(pinned: 0), pte: 0))
    #expect(f.snap.cpus.map(\.tlb) == [[.none], [.none], [.none]])
  }

  @Test("a shootdown started before the write does not cover it: a refilled entry survives")
  func shootdownBeforeWrite() {
    let f = Fixture(
      mode: .native, tlb: true, staleTLB: true, asyncShootdown: true, initialTLB: true)
    f.lock(0)
    f.machine.flushTLBStart(f.s, Actor(pinned: 0), pte: 0)
    #expect(f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(1), pte: 0))
    #expect(f.access(1, 0, .read) == (true, []))  // cpu1 walks the still-present PTE again
    #expect(f.getAndClear(0, 0).1.isEmpty)
    #expect(f.machine.flushTLBWait(f.s, Actor(pinned: 0), pte: 0))
    #expect(f.snap.flushOwed == [true] && f.snap.tlbFlushed == [false])
    #expect(f.snap.cpus[1].tlb != [.none])  // waiting flushes nothing
    f.unlock(0)
    #expect(f.access(1, 0, .read) == (true, .staleTLB))
  }

  @Test("a shootdown started after the write covers it once every IPI is handled")
  func shootdownAfterWrite() {
    let f = Fixture(
      mode: .native, tlb: true, staleTLB: true, asyncShootdown: true, initialTLB: true)
    #expect(f.getAndClear(0, 0).1.isEmpty)
    f.machine.flushTLBStart(f.s, Actor(pinned: 0), pte: 0)
    #expect(f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(1), pte: 0))
    #expect(f.machine.flushTLBWait(f.s, Actor(pinned: 0), pte: 0))
    #expect(f.snap.flushOwed == [false] && f.snap.tlbFlushed == [true])
  }

  @Test("an IPI waits while its CPU has interrupts off or runs a handler")
  func ipiNeedsInterruptsOn() {
    let f = Fixture(
      mode: .native, tlb: true, asyncShootdown: true, initialTLB: true, irqDisable: true)
    f.machine.flushTLBStart(f.s, Actor(pinned: 0), pte: 0)
    f.machine.setIRQsOff(f.s, cpu: 1, true)
    #expect(!f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(1), pte: 0))
    #expect(!f.machine.flushTLBWait(f.s, Actor(pinned: 0), pte: 0))
    f.machine.setIRQsOff(f.s, cpu: 1, false)
    #expect(f.machine.handleShootdownIPI(f.s, cpu: CPUIndex(1), pte: 0))
    #expect(f.machine.flushTLBWait(f.s, Actor(pinned: 0), pte: 0))
  }
}

/// PAE top-level entries and page-table page lifetime.
@Suite("PAE PDPTEs and page-table pages")
struct PageTableOpsTests {
  @Test(
    "a walk goes through the CPU's cached PDPTE: not present faults; stale after publish is flagged"
  )
  func cachedPDPTE() {
    var config = MachineConfig(
      mode: .native, cpuCount: 2, pteCount: 1, lockCount: 1, ptlOf: [nil], batchLimit: 4,
      registerCount: [1, 1], pcLimit: [2, 2], tlbCached: [[false], [false]],
      trackedHardwareBits: PTE.dirtyBit, initialPTEs: [.rw(1)])
    config.initialPGDs = [.none]
    config.lockOfPGD = [0]
    config.pgdOf = [0]
    config.tracksStaleTLB = true
    let m = Machine(config: config, batchSlots: [0, 0])
    let w = UnsafeMutablePointer<UInt64>.allocate(capacity: m.layout.wordCount)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    m.writeInitialState(s)
    var e = Events()
    // PDPTE not present
    #expect(!m.hardwareAccess(s, cpu: CPUIndex(1), program: nil, pte: 0, kind: .read, &e))
    #expect(m.spinLock(s, Actor(pinned: 0), lock: 0))
    m.setPGD(s, pgd: 0, value: PTE(rawValue: PTE.presentBit | PTE.pfnBits(9)))
    #expect(
      // racy
      !m.hardwareAccess(s, cpu: CPUIndex(1), program: nil, pte: 0, kind: .read, &e) && e.isEmpty)
    m.spinUnlock(s, Actor(pinned: 0), lock: 0, &e)
    #expect(!m.hardwareAccess(s, cpu: CPUIndex(1), program: nil, pte: 0, kind: .read, &e))
    #expect(e == .staleTLB)
    e = []
    m.loadCR3(s, cpu: 1)
    #expect(
      m.hardwareAccess(s, cpu: CPUIndex(1), program: nil, pte: 0, kind: .read, &e) && e.isEmpty)
  }

  @Test("flush_tlb_mm reloads cr3 only on the CPUs that run the mm")
  func flushMMRunners() {
    var config = MachineConfig(
      mode: .native, cpuCount: 2, pteCount: 1, lockCount: 0, ptlOf: [nil], batchLimit: 4,
      registerCount: [1, 1], pcLimit: [2, 2], tlbCached: [[false], [false]],
      trackedHardwareBits: PTE.dirtyBit, initialPTEs: [.rw(1)])
    config.initialPGDs = [.none]
    config.pgdOf = [0]
    config.initialMMUsers = [0]  // cpu1 does not run the mm
    let m = Machine(config: config, batchSlots: [0, 0])
    let w = UnsafeMutablePointer<UInt64>.allocate(capacity: m.layout.wordCount)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    m.writeInitialState(s)
    var e = Events()
    let populated = PTE(rawValue: PTE.presentBit | PTE.pfnBits(9))
    m.setPGD(s, pgd: 0, value: populated)
    m.flushTLBMM(s, &e)
    #expect(s.pte(m.layout.pgdCache[0][0]) == populated)
    #expect(s.pte(m.layout.pgdCache[1][0]) == .none)  // reloads at its next cr3 load
  }

  @Test("page-table pages: allocation may fail, double free and leaks are caught")
  func lifetime() {
    var config = MachineConfig(
      mode: .native, cpuCount: 1, pteCount: 1, lockCount: 0, ptlOf: [nil], batchLimit: 4,
      registerCount: [1], pcLimit: [2], tlbCached: [[false]], trackedHardwareBits: PTE.dirtyBit,
      initialPTEs: [.none])
    config.ptPageCount = 2
    let m = Machine(config: config, batchSlots: [0])
    let w = UnsafeMutablePointer<UInt64>.allocate(capacity: m.layout.wordCount)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    m.writeInitialState(s)
    var e = Events()
    #expect(!m.ptAlloc(s, page: 0, outcome: .fails, &e))
    #expect(!m.hasLeakedPTPages(s))
    #expect(m.ptAlloc(s, page: 0, outcome: .succeeds, &e))
    #expect(e.isEmpty && m.hasLeakedPTPages(s))
    m.ptFree(s, page: 0, &e)
    #expect(e.isEmpty && !m.hasLeakedPTPages(s))
    m.ptFree(s, page: 0, &e)
    #expect(e == .ptLeak)  // double free
    e = []
    m.ptFree(s, page: 1, &e)
    #expect(e == .ptLeak)  // never allocated
    e = []
    #expect(m.ptAlloc(s, page: 1, outcome: .succeeds, &e) && e.isEmpty)
    #expect(m.ptAlloc(s, page: 1, outcome: .succeeds, &e))
    #expect(e == .ptLeak)  // allocated again while allocated: the first allocation is lost
  }
}
