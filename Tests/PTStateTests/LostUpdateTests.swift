import PTState
import Testing

/// The `no_lost_update` ghost: a CPU's view of a PTE (has it read it; is what it saw still
/// the latest software value), and the writer of the latest value.
@Suite("Lost updates: stale views and late batches")
struct LostUpdateTests {
  @Test("a read-modify-write under a fresh view loses nothing")
  func freshView() {
    let f = Fixture(mode: .native, lostUpdates: true)
    #expect(f.get(0, 0).1.isEmpty)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)
    #expect(f.get(1, 0).1.isEmpty)
    #expect(f.setPTE(1, 0, .rw(1)).isEmpty)
  }

  @Test("a write after another CPU's write, based on an older read, loses that update")
  func staleView() {
    let f = Fixture(mode: .native, lostUpdates: true)
    #expect(f.get(1, 0).1.isEmpty)  // cpu1 looks at the PTE
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)  // cpu0 changes it
    #expect(f.setPTE(1, 0, .rw(2)) == .lostUpdate)  // cpu1 acts on what it saw
  }

  @Test("a blind write over another program's write that looked first loses it too")
  func blindWriteOverInformedWrite() {
    let f = Fixture(mode: .native, lostUpdates: true)
    #expect(f.get(0, 0).1.isEmpty)  // cpu0 re-checks the PTE ...
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)  // ... then installs
    #expect(f.setPTE(1, 0, .rw(2)) == .lostUpdate)  // cpu1 overwrites it, never looking
  }

  @Test("a write after a look at the current value is not blind, whoever wrote before")
  func lookThenInstall() {
    let f = Fixture(mode: .native, lostUpdates: true)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)  // cpu0 installs blind over the initial value
    #expect(f.get(1, 0).1.isEmpty)  // cpu1 looks (remap's BUG_ON(!pte_none(...)) reads)
    #expect(f.setPTE(1, 0, .rw(2)).isEmpty)  // and writes on what it saw
  }

  @Test("two blind installs of one PTE by different programs: the second loses the first")
  func blindOverBlind() {
    let f = Fixture(mode: .native, lostUpdates: true)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)
    #expect(f.setPTE(1, 0, .rw(2)) == .lostUpdate)
    #expect(f.setPTE(1, 0, .rw(3)).isEmpty)  // the same program again: its own update
  }

  @Test("hardware A/D bits do not make a view stale")
  func hardwareBitsDoNotCount() {
    let f = Fixture(mode: .native, lostUpdates: true)
    #expect(f.get(1, 0).1.isEmpty)
    #expect(f.access(0, 0, .write).0)
    #expect(f.setPTE(1, 0, PTE.ro(1).with(PTE.ad)).isEmpty)
  }

  @Test("direct: a batched write landing over another CPU's newer write loses it")
  func lateBatch() {
    let f = Fixture(mode: .direct, lostUpdates: true)
    #expect(f.get(0, 0).1.isEmpty)  // cpu0 looks first: its write is not blind
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)  // queued
    #expect(f.get(1, 0).1.isEmpty)  // cpu1 looks: it sees memory, which is the old value
    #expect(f.setPTE(1, 0, .rw(2)) == .lostUpdate)  // a stale view: lands at once
    #expect(f.leave(0) == .lostUpdate)  // cpu0's older write lands over it
    #expect(f.snap.mem == [.ro(1)])
  }

  @Test("direct: the same CPU's later queued writes are not lost updates")
  func ownQueue() {
    let f = Fixture(mode: .direct, lostUpdates: true)
    f.enter(0)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)
    #expect(f.setPTE(0, 0, .ro(2)).isEmpty)
    #expect(f.leave(0).isEmpty)
    #expect(f.snap.mem == [.ro(2)])
  }

  @Test("without no_lost_update the ghost fields take no space")
  func noSpaceWhenUnchecked() {
    let with = Fixture(mode: .direct, lostUpdates: true)
    let without = Fixture(mode: .direct)
    #expect(without.layout.view.allSatisfy { $0.allSatisfy { $0.width == 0 } })
    #expect(without.layout.lastWriter.allSatisfy { $0.width == 0 })
    #expect(with.layout.usedBits > without.layout.usedBits)
  }
}
