import PTState
import Testing

/// mm_users and the full-teardown clear of exit_mmap().
@Suite("mm_users and ptep_get_and_clear_full")
struct MMOpsTests {
  func machine(mmUsers: [Int]) -> (Machine, UnsafeMutablePointer<UInt64>) {
    var config = MachineConfig(
      mode: .native, cpuCount: 2, pteCount: 1, lockCount: 0, ptlOf: [nil], batchLimit: 4,
      registerCount: [1, 1], pcLimit: [2, 2], tlbCached: [[false], [false]],
      trackedHardwareBits: PTE.dirtyBit, initialPTEs: [.rw(1)])
    config.initialMMUsers = mmUsers
    return buildMachine(config, batchSlots: [0, 0])
  }

  @Test("mmput drops the CPU's reference and says whether it was the last")
  func mmput() {
    let (m, w) = machine(mmUsers: [0, 1])
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    #expect(m.mmUsers(s) == 2 && m.runsMM(s, cpu: 1))
    #expect(!m.mmput(s, cpu: 0))
    #expect(m.mmput(s, cpu: 1))
    #expect(m.mmUsers(s) == 0 && !m.runsMM(s, cpu: 1))
    m.mmget(s, cpu: 0)
    #expect(m.mmUsers(s) == 1)
  }

  @Test("mmput by a CPU that holds no reference is never the last one")
  func mmputWithoutReference() {
    let (m, w) = machine(mmUsers: [1])
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    #expect(!m.mmput(s, cpu: 0))  // cpu1 still runs the mm
    #expect(m.mmput(s, cpu: 1))
    #expect(!m.mmput(s, cpu: 0) && !m.mmput(s, cpu: 1))  // nobody holds one now
  }

  @Test("the full clear loses only a dirty bit set between its read and its store")
  func fullClear() {
    let (m, w) = machine(mmUsers: [0, 1])
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    // dirty before
    #expect(m.hardwareAccess(s, cpu: CPUIndex(1), program: nil, pte: 0, kind: .write, &e))
    #expect(m.fullTeardownRead(s, Actor(pinned: 0), pte: 0, &e).isDirty)  // handed to the caller
    m.nativeClear(s, Actor(pinned: 0), pte: 0, &e)
    #expect(e.isEmpty)
    // Again, with the dirty bit set between the two halves.
    let (m2, w2) = machine(mmUsers: [0, 1])
    defer { w2.deallocate() }
    let s2 = PackedState(w2, wordCount: m2.layout.wordCount)
    var e2 = Events()
    #expect(!m2.fullTeardownRead(s2, Actor(pinned: 0), pte: 0, &e2).isDirty)
    #expect(m2.hardwareAccess(s2, cpu: CPUIndex(1), program: nil, pte: 0, kind: .write, &e2))
    m2.nativeClear(s2, Actor(pinned: 0), pte: 0, &e2)
    #expect(e2 == .lostDirty)
  }
}
