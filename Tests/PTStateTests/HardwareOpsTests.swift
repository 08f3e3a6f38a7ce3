import PTState
import Testing

@Suite("Hardware accesses: TLB hits, page walks, A/D bits, faults")
struct HardwareOpsTests {
  @Test("a read access sets accessed only", arguments: ParavirtMode.allCases)
  func readSetsAccessed(mode: ParavirtMode) {
    let f = Fixture(mode: mode, tlb: true)
    #expect(f.access(0, 0, .read) == (true, []))
    let snap = f.snap
    let a = PTE.rw(1).with(PTE.accessedBit)
    #expect(snap.mem == [a])
    #expect(snap.logical == [a])
    #expect(snap.unowned == [PTE.accessedBit])
    if mode == .shadow { #expect(snap.shadow == [a]) }
    #expect(snap.cpus[0].tlb == [PTE.rw(1).with(PTE.accessedBit)])  // writable, clean
    #expect(snap.cpus[1].tlb == [.none])
  }

  @Test("a write access sets accessed and dirty", arguments: ParavirtMode.allCases)
  func writeSetsAD(mode: ParavirtMode) {
    let f = Fixture(mode: mode, tlb: true)
    #expect(f.access(1, 0, .write) == (true, []))
    let snap = f.snap
    let ad = PTE.rw(1).with(PTE.ad)
    #expect(snap.mem == [ad])
    #expect(snap.logical == [ad])
    #expect(snap.unowned == [PTE.ad])
    if mode == .shadow { #expect(snap.shadow == [ad]) }
    #expect(snap.cpus[1].tlb == [ad])
  }

  @Test(
    "an access is said to change nothing when applying it changes nothing and raises nothing",
    arguments: ParavirtMode.allCases)
  func changesNothing(mode: ParavirtMode) {
    // Its bits are set already: a no-op, and applying it changes no word.
    let set = Fixture(mode: mode, ptes: [PTE.rw(1).with(PTE.ad)])
    #expect(set.machine.hardwareAccessChangesNothing(set.s, cpu: 0, pte: 0, kind: .write))
    let before = set.raw
    #expect(set.access(0, 0, .write) == (true, []))
    #expect(set.raw == before)
    // A fault changes nothing either.
    let ro = Fixture(mode: mode, ptes: [PTE.ro(2).with(PTE.accessedBit)])
    #expect(ro.machine.hardwareAccessChangesNothing(ro.s, cpu: 0, pte: 0, kind: .write))
    // A bit to set: not a no-op.
    let clean = Fixture(mode: mode)
    #expect(!clean.machine.hardwareAccessChangesNothing(clean.s, cpu: 0, pte: 0, kind: .read))
    // A walk after a flush that sees an older value than the latest write: it raises
    // no_stale_read, so it is no no-op although no bit changes.
    let stale = Fixture(mode: mode, ptes: [PTE.rw(1).with(PTE.ad)])
    stale.s[stale.layout.logical[0]] = UInt64(PTE.ro(1).with(PTE.ad).rawValue)
    stale.s[stale.layout.tlbFlushed[0]] = 1
    #expect(!stale.machine.hardwareAccessChangesNothing(stale.s, cpu: 0, pte: 0, kind: .read))
    #expect(stale.access(0, 0, .read).1.contains(.staleRead))
    // A CPU with a TLB slot for the PTE: never said (the access fills or hits it).
    let tlb = Fixture(mode: mode, ptes: [PTE.rw(1).with(PTE.ad)], tlb: true)
    #expect(!tlb.machine.hardwareAccessChangesNothing(tlb.s, cpu: 0, pte: 0, kind: .read))
  }

  @Test("a read of a read-only PTE fills a read-only TLB entry", arguments: ParavirtMode.allCases)
  func readOnlyFill(mode: ParavirtMode) {
    let f = Fixture(mode: mode, ptes: [.ro(2)], tlb: true)
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.snap.cpus[0].tlb == [PTE.ro(2).with(PTE.accessedBit)])
    #expect(f.snap.mem == [PTE.ro(2).with(PTE.accessedBit)])
  }

  @Test(
    "a write access on a read-only PTE faults and changes nothing", arguments: ParavirtMode.allCases
  )
  func writeToReadOnlyFaults(mode: ParavirtMode) {
    let f = Fixture(mode: mode, ptes: [.ro(2)], tlb: true)
    let before = f.raw
    #expect(f.access(0, 0, .write) == (false, []))
    #expect(f.raw == before)
  }

  @Test(
    "any access to a non-present PTE faults and changes nothing", arguments: ParavirtMode.allCases)
  func nonPresentFaults(mode: ParavirtMode) {
    // A non-present entry that still carries bits: hardware must ignore it entirely.
    let f = Fixture(mode: mode, ptes: [PTE(rawValue: PTE.writeBit | PTE.pfnBits(3))], tlb: true)
    let before = f.raw
    #expect(f.access(0, 0, .read) == (false, []))
    #expect(f.access(0, 0, .write) == (false, []))
    #expect(f.raw == before)
  }

  @Test("a read-only TLB entry does not serve a write: the walk faults")
  func readOnlyTLBEntryWriteWalks() {
    let f = Fixture(mode: .native, ptes: [.ro(2)], tlb: true)
    #expect(f.access(0, 0, .read).0)
    let before = f.raw
    #expect(f.access(0, 0, .write) == (false, []))
    #expect(f.raw == before)
  }

  @Test(
    "hardware never clears bits: a walk over A/D already set changes nothing but the TLB",
    arguments: ParavirtMode.allCases)
  func neverClears(mode: ParavirtMode) {
    let full = PTE.rw(1).with(PTE.ad)
    let f = Fixture(mode: mode, ptes: [full], tlb: true)
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.access(1, 0, .write) == (true, []))
    let snap = f.snap
    #expect(snap.mem == [full])
    #expect(snap.logical == [full])
    #expect(snap.unowned == [0])  // nothing was added, so nothing is unowned
    #expect(snap.cpus.map(\.tlb) == [[full], [full]])
  }

  @Test("a read access keeps an existing dirty bit and adds accessed")
  func readKeepsDirty() {
    let f = Fixture(mode: .direct, ptes: [PTE.rw(1).with(PTE.dirtyBit)])
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.snap.mem == [PTE.rw(1).with(PTE.ad)])
    #expect(f.snap.unowned == [PTE.accessedBit])
  }

  @Test(
    "with a TLB slot, a second access is a TLB hit that changes nothing",
    arguments: ParavirtMode.allCases)
  func tlbHit(mode: ParavirtMode) {
    let f = Fixture(mode: mode, tlb: true)
    #expect(f.access(0, 0, .write).0)
    // Software clears the PTE behind the TLB's back (no flush): the hit still succeeds.
    f.setPTE(1, 0, .none)
    let before = f.raw
    #expect(f.access(0, 0, .write) == (true, []))
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.raw == before)
  }

  @Test("a writable clean TLB entry serves reads but a write walks to set dirty")
  func cleanEntryWriteWalks() {
    let f = Fixture(mode: .native, tlb: true)
    #expect(f.access(0, 0, .read).0)
    let afterRead = f.raw
    #expect(f.access(0, 0, .read) == (true, []))
    #expect(f.raw == afterRead)
    #expect(f.access(0, 0, .write) == (true, []))
    #expect(f.snap.mem == [PTE.rw(1).with(PTE.ad)])
    #expect(f.snap.cpus[0].tlb == [PTE.rw(1).with(PTE.ad)])
  }

  @Test("evictTLB empties the slot: the next access walks again")
  func evictThenWalk() {
    let f = Fixture(mode: .native, tlb: true)
    #expect(f.access(0, 0, .read).0)
    f.setPTE(1, 0, .none)
    #expect(f.access(0, 0, .read) == (true, []))  // hit
    #expect(f.evict(0, 0))
    #expect(f.snap.cpus[0].tlb == [.none])
    #expect(f.access(0, 0, .read) == (false, []))  // walk sees none
  }

  @Test("without a TLB slot every access walks")
  func noSlotAlwaysWalks() {
    let f = Fixture(mode: .native, tlb: false)
    #expect(f.access(0, 0, .read).0)
    f.setPTE(1, 0, .none)
    #expect(f.access(0, 0, .read) == (false, []))
    #expect(f.snap.cpus[0].tlb == [.none])
  }

  @Test(
    "native/direct: hardware acts on the page table itself",
    arguments: [ParavirtMode.native, .direct])
  func walksMem(mode: ParavirtMode) {
    let f = Fixture(mode: mode)
    f.s[f.layout.mem[0]] = UInt64(PTE.ro(1).rawValue)
    #expect(f.access(0, 0, .write) == (false, []))
    f.s[f.layout.mem[0]] = UInt64(PTE.rw(1).rawValue)
    #expect(f.access(0, 0, .write) == (true, []))
  }

  // MARK: Shadow mode

  @Test("shadow: hardware walks the shadow, not the guest table")
  func shadowWalksShadow() {
    let f = Fixture(mode: .shadow)
    f.enter(0)
    f.setPTE(0, 0, .none)  // guest cleared, shadow sync queued
    #expect(f.snap.shadow == [.rw(1)])
    let (ok, e) = f.access(1, 0, .read)
    #expect(ok)
    #expect(e.isEmpty)  // accessed is not tracked
    let snap = f.snap
    #expect(snap.shadow == [PTE.rw(1).with(PTE.accessedBit)])
    #expect(snap.mem == [.none])
    #expect(snap.logical == [.none])
    #expect(snap.unowned == [0])
  }

  @Test(
    "shadow: a bit set through a stale shadow entry whose guest entry is gone reports lostDirty")
  func shadowLostDirty() {
    let f = Fixture(mode: .shadow)
    f.enter(0)
    f.setPTE(0, 0, .none)
    let (ok, e) = f.access(1, 0, .write)
    #expect(ok)
    #expect(e == .lostDirty)
    let snap = f.snap
    #expect(snap.shadow == [PTE.rw(1).with(PTE.ad)])
    #expect(snap.mem == [.none])
    #expect(snap.logical == [.none])
    #expect(snap.unowned == [0])
  }

  @Test("shadow: accessed lost through a stale shadow is reported when accessed is tracked")
  func shadowLostAccessedTracked() {
    let f = Fixture(mode: .shadow, tracked: PTE.dirtyBit | PTE.accessedBit)
    f.enter(0)
    f.setPTE(0, 0, .none)
    #expect(f.access(1, 0, .read) == (true, .lostDirty))
  }

  @Test("shadow: a guest entry now mapping another page does not receive the bits")
  func shadowGuestRemapped() {
    let f = Fixture(mode: .shadow)
    f.enter(0)
    f.setPTE(0, 0, .rw(2))
    #expect(f.access(1, 0, .write) == (true, .lostDirty))
    let snap = f.snap
    #expect(snap.mem == [.rw(2)])
    #expect(snap.logical == [.rw(2)])
    #expect(snap.shadow == [PTE.rw(1).with(PTE.ad)])
  }

  @Test("shadow: bits are reflected into a guest entry still mapping the same page")
  func shadowReflectsIntoGuest() {
    let f = Fixture(mode: .shadow)
    f.enter(0)
    f.setPTE(0, 0, .ro(1))  // write-protect the same page; shadow still writable
    #expect(f.access(1, 0, .write) == (true, []))
    let snap = f.snap
    #expect(snap.shadow == [PTE.rw(1).with(PTE.ad)])
    #expect(snap.mem == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.logical == [PTE.ro(1).with(PTE.ad)])
    #expect(snap.unowned == [PTE.ad])
  }

  @Test("shadow: a guest entry made present before the shadow sync still faults in hardware")
  func shadowGuestPresentShadowNot() {
    let f = Fixture(mode: .shadow, ptes: [.none])
    f.enter(0)
    f.setPTE(0, 0, .rw(1))
    let before = f.raw
    #expect(f.access(1, 0, .read) == (false, []))
    #expect(f.raw == before)
    f.leave(0)
    #expect(f.access(1, 0, .read) == (true, []))
    #expect(f.snap.mem == [PTE.rw(1).with(PTE.accessedBit)])
  }

  @Test("a program's own TLB hit on a translation it has since rewritten is a stale read")
  func ownStaleTLBHit() {
    let f = Fixture(mode: .native, ptes: [.none], locks: 0, tlb: true, ownTLBUse: true)
    f.setPTE(0, 0, .rw(7))
    #expect(f.access(0, 0, .write, byProgram: true) == (true, []))  // fills the TLB
    f.setPTE(0, 0, .none)  // kunmap_atomic without the local flush
    f.setPTE(0, 0, .rw(8))
    #expect(f.access(0, 0, .write, byProgram: true) == (true, .staleRead))
    // Another program's hit is not judged: it is not entitled to the latest value.
    #expect(f.access(1, 0, .read, byProgram: true) == (true, []))
  }

  @Test("a store through a dirty TLB entry while the PTE maps the page clean loses Dirty")
  func dirtyTLBOverCleanPTE() {
    let f = Fixture(
      mode: .native, ptes: [PTE.rw(1).with(PTE.dirtyBit)], tlb: true, initialTLB: true)
    #expect(f.access(1, 0, .write) == (true, []))  // the PTE is dirty: nothing lost
    _ = f.getAndClear(0, 0)
    f.setPTE(0, 0, .rw(1))  // clean again, no flush
    #expect(f.access(1, 0, .write) == (true, .lostDirty))
    #expect(f.access(1, 0, .read) == (true, []))  // a read loses nothing
  }
}
