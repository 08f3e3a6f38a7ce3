import PTState
import Testing

@Suite("State layout, packed fields and PTE spelling")
struct LayoutTests {
  /// Every field of the layout, with a name for messages.
  static func allFields(_ l: StateLayout) -> [(String, Field)] {
    var out: [(String, Field)] = []
    func add(_ name: String, _ fs: [Field]) {
      for (i, f) in fs.enumerated() { out.append(("\(name)[\(i)]", f)) }
    }
    add("mem", l.mem)
    add("shadow", l.shadow)
    add("logical", l.logical)
    add("unowned", l.unowned)
    add("tlbFlushed", l.tlbFlushed)
    add("lockHolder", l.lockHolder)
    add("pc", l.pc)
    add("registers", l.registers)
    add("lazy", l.lazy)
    add("lazyLocks", l.lazyLocks)
    add("batchCount", l.batchCount)
    add("batchEntries", l.batchEntries)
    for (c, row) in l.tlb.enumerated() { add("tlb[\(c)]", row) }
    return out
  }

  static func fixtures() -> [Fixture] {
    [
      Fixture(
        mode: .native, cpus: 1, ptes: [.rw(1)], locks: 0, batchLimit: 1, registers: 0, pcLimit: 1),
      Fixture(mode: .direct, cpus: 2, ptes: [.rw(1), .ro(2)], locks: 1, batchLimit: 2),
      Fixture(mode: .shadow, cpus: 2, ptes: [.rw(1), .ro(2)], locks: 1, batchLimit: 4, tlb: true),
      Fixture(
        mode: .shadow, cpus: 3, ptes: [.rw(1), .ro(2), .none, .rw(15)], locks: 2,
        ptlOf: [0, 0, 1, nil], batchLimit: 5, tlb: true, registers: 3, pcLimit: 9),
    ]
  }

  @Test("fields never straddle words and stay inside the state")
  func noStraddle() {
    for f in Self.fixtures() {
      for (name, field) in Self.allFields(f.layout) where field.width > 0 {
        #expect(Int(field.shift) + field.width <= 64, "\(name)")
        #expect(field.word >= 0 && Int(field.word) < f.layout.wordCount, "\(name)")
        // A mask is a contiguous run of low bits.
        #expect(field.mask & (field.mask &+ 1) == 0, "\(name)")
      }
    }
  }

  @Test("writing one field at its max value changes no other field")
  func fieldsAreIndependent() {
    for f in Self.fixtures() {
      let fields = Self.allFields(f.layout).filter { $0.1.width > 0 }
      let n = f.layout.wordCount
      for (name, field) in fields {
        // From all zeros: set the field to its max, every other field still reads 0.
        f.words.update(repeating: 0, count: n)
        f.s[field] = field.mask
        #expect(f.s[field] == field.mask, "\(name)")
        for (other, g) in fields where other != name { #expect(f.s[g] == 0, "\(name) -> \(other)") }
        // From all ones: clear the field, every other field still reads its max.
        f.words.update(repeating: ~0, count: n)
        f.s[field] = 0
        #expect(f.s[field] == 0, "\(name)")
        for (other, g) in fields where other != name {
          #expect(f.s[g] == g.mask, "\(name) -> \(other)")
        }
      }
      // Used bits add up to the widths, and fit in the words.
      #expect(f.layout.usedBits == fields.reduce(0) { $0 + $1.1.width })
      #expect(f.layout.usedBits <= 64 * n)
    }
  }

  @Test("a value wider than the field is truncated to the field, not spilled into neighbours")
  func writesAreMasked() {
    let f = Fixture(mode: .direct)
    let field = f.layout.unowned[0]
    #expect(field.width == 2)
    let before = Self.allFields(f.layout).map { f.s[$0.1] }
    f.s[field] = 0xFF
    #expect(f.s[field] == 3)
    let after = Self.allFields(f.layout).map { f.s[$0.1] }
    let idx = Self.allFields(f.layout).firstIndex { $0.0 == "unowned[0]" }!
    for i in before.indices where i != idx { #expect(before[i] == after[i]) }
  }

  @Test("absent fields (width 0) read 0 and ignore writes")
  func absentFields() {
    #expect(Field.absent.width == 0)
    let f = Fixture(mode: .direct, tlb: false)
    #expect(f.layout.shadow == [.absent])
    #expect(f.layout.tlb[0] == [.absent])
    f.words.update(repeating: ~0, count: f.layout.wordCount)
    #expect(f.s[f.layout.shadow[0]] == 0)
    #expect(f.s[Field.absent] == 0)
    let before = f.raw
    f.s[f.layout.shadow[0]] = 0xFF
    f.s[f.layout.tlb[1][0]] = 3
    #expect(f.raw == before)
    // The snapshot of a machine without shadow/TLB slots shows none.
    f.machine.writeInitialState(f.s)
    #expect(f.snap.shadow == nil)
    #expect(f.snap.cpus.map(\.tlb) == [[.none], [.none]])
  }

  @Test("a CPU with no batch slots and a one-value pc has absent fields")
  func zeroWidthPerCPUFields() {
    let f = Fixture(
      mode: .native, cpus: 1, ptes: [.rw(1)], locks: 0, batchLimit: 1, registers: 0, pcLimit: 1)
    #expect(f.layout.pc == [.absent])
    #expect(f.layout.batchCount == [.absent])
    #expect(f.layout.lazyLocks == [.absent])
    #expect(f.layout.batchEntries.isEmpty)
    #expect(f.layout.registers.isEmpty)
    #expect(f.layout.lockHolder.isEmpty)
  }

  @Test("bitsToHold counts the bits for 0..<count")
  func bitsToHoldValues() {
    #expect(bitsToHold(0) == 0)
    #expect(bitsToHold(1) == 0)
    #expect(bitsToHold(2) == 1)
    #expect(bitsToHold(3) == 2)
    #expect(bitsToHold(4) == 2)
    #expect(bitsToHold(5) == 3)
    #expect(bitsToHold(256) == 8)
    #expect(bitsToHold(257) == 9)
  }

  @Test("word counts for small configurations")
  func wordCounts() {
    // native, 1 CPU, 1 PTE, no lock, no registers, pc limit 1, no batch slots:
    // mem 8 + logical 8 + unowned 2 + tlbFlushed 1 + lazy 1 = 20 bits.
    let tiny = Fixture(
      mode: .native, cpus: 1, ptes: [.rw(1)], locks: 0, batchLimit: 1, registers: 0, pcLimit: 1)
    #expect(tiny.layout.wordCount == 1)
    #expect(tiny.layout.usedBits == 20)
    #expect(tiny.layout.lazy[0] == Field(word: 0, shift: 19, mask: 1))

    // Fields are laid out PTEs and locks first, then each program (context: pc, registers,
    // counters), then each CPU (lazy flag, lock mask, batch count and entries, TLB slots).
    // direct, 2 CPUs, 2 PTEs, 1 lock, 2 registers, pc limit 4, 1 batch slot (limit 2):
    // 16 mem + 16 logical + 4 unowned + 2 tlbFlushed + 2 holder = 40; two programs of
    // 2 pc + 16 register bits = 36; two CPUs of lazy + lock mask + count + an 11-bit entry
    // (1 PTE-index bit, 8 value bits, preserve-A/D, flush; no writer bits, since each CPU
    // runs only its pinned program) = 28: 104 bits.
    let small = Fixture(mode: .direct, cpus: 2, ptes: [.rw(1), .ro(2)], locks: 1, batchLimit: 2)
    #expect(small.layout.wordCount == 2)
    #expect(small.layout.pteIndexBits == 1)
    #expect(small.layout.batchEntries[0].width == 11)
    #expect(small.layout.usedBits == 40 + 36 + 28)

    // shadow, 2 CPUs, 2 PTEs, 1 lock, 2 registers, pc limit 4, 3 slots (limit 4), 8-bit TLB
    // slots: 198 bits in 4 words (no field straddles a word, so some bits stay unused).
    let big = Fixture(
      mode: .shadow, cpus: 2, ptes: [.rw(1), .ro(2)], locks: 1, batchLimit: 4, tlb: true)
    #expect(big.layout.wordCount == 4)
    #expect(big.layout.usedBits == 198)
    // The first program's registers follow its pc; the first would straddle word 0.
    #expect(big.layout.pc[0] == Field(word: 0, shift: 56, mask: 3))
    #expect(big.layout.registers[0] == Field(word: 1, shift: 0, mask: 0xFF))
    #expect(big.layout.registers[1] == Field(word: 1, shift: 8, mask: 0xFF))
    #expect(big.layout.tlb[1][1].width == 8)
  }

  @Test("the initial state holds the declared PTEs and nothing else")
  func initialState() {
    let f = Fixture(mode: .shadow, cpus: 2, ptes: [.rw(1), .ro(2), .none], locks: 2, tlb: true)
    f.words.update(repeating: ~0, count: f.layout.wordCount)
    f.machine.writeInitialState(f.s)
    let snap = f.snap
    #expect(snap.mem == [.rw(1), .ro(2), .none])
    #expect(snap.shadow == [.rw(1), .ro(2), .none])
    #expect(snap.logical == [.rw(1), .ro(2), .none])
    #expect(snap.unowned == [0, 0, 0])
    #expect(snap.tlbFlushed == [false, false, false])
    #expect(snap.lockHolder == [nil, nil])
    for context in snap.contexts {
      #expect(context.pc == 0)
      #expect(context.registers == [0, 0])
    }
    for cpu in snap.cpus {
      #expect(!cpu.lazy)
      #expect(cpu.lazyLocks == 0)
      #expect(cpu.batch.isEmpty)
      #expect(cpu.tlb == [.none, .none, .none])
    }
  }

  @Test("the snapshot decodes every field written through the layout")
  func snapshotDecodes() {
    let f = Fixture(mode: .shadow, cpus: 2, ptes: [.rw(1), .ro(2)], locks: 2, tlb: true)
    let l = f.layout
    let s = f.s
    s[l.pc[1]] = 3
    s[l.registers[l.registerBase[1] + 1]] = 0xAB
    s[l.lockHolder[1]] = 2
    s[l.unowned[1]] = 2
    s[l.tlbFlushed[0]] = 1
    s[l.tlb[0][1]] = UInt64(PTE.ro(3).rawValue)
    s[l.lazy[1]] = 1
    s[l.lazyLocks[1]] = 2
    let snap = f.snap
    #expect(snap.contexts[1].pc == 3)
    #expect(snap.contexts[1].registers == [0, 0xAB])
    #expect(snap.contexts[0].registers == [0, 0])
    #expect(snap.lockHolder == [nil, 1])
    #expect(snap.unowned == [0, PTE.dirtyBit])
    #expect(snap.tlbFlushed == [true, false])
    #expect(snap.cpus[0].tlb == [.none, .ro(3)])
    #expect(snap.cpus[1].lazy)
    #expect(snap.cpus[1].lazyLocks == 2)
    #expect(!snap.cpus[0].lazy)
  }

  @Test("PackedState.pte decodes the 8-bit field as a PTE")
  func packedPTE() {
    let f = Fixture(mode: .native)
    f.s[f.layout.mem[0]] = 0xFD
    #expect(f.s.pte(f.layout.mem[0]) == PTE(rawValue: 0xFD))
    #expect(f.snap.mem[0].pfn == 15)
  }

  @Test("the read-only and the mutable view of a state read the same fields and words")
  func views() {
    let f = Fixture(mode: .native)
    f.s[f.layout.mem[0]] = 0x3D
    let view = f.s.view
    #expect(view[f.layout.mem[0]] == 0x3D && view.pte(f.layout.mem[0]) == f.s.pte(f.layout.mem[0]))
    #expect(view.wordCount == f.layout.wordCount)
    #expect((0..<view.wordCount).allSatisfy { view[word: $0] == f.s[word: $0] })
    #expect(view.equals(f.s.view))
    withScratchStates(wordCount: f.layout.wordCount, count: 2) { scratch in
      #expect(!scratch[0].view.equals(view))
      scratch[1].copy(from: view)
      #expect(scratch[1].view.equals(view) && scratch[0][f.layout.mem[0]] == 0)
    }
  }

  #if DEBUG
    @Test("debug builds stop an access outside the state (a field from another layout)")
    func outOfBounds() async {
      await #expect(processExitsWith: .failure) {
        let small = Fixture(mode: .native)
        let field = Field(word: Int32(small.layout.wordCount), shift: 0, mask: 0xFF)
        _ = small.s[field]
      }
      await #expect(processExitsWith: .failure) {
        withScratchStates(wordCount: 2) { scratch in _ = scratch[0].view[word: 2] }
      }
    }
  #endif

  @Test("PTE.description spells flags and pfn kernel-style")
  func pteDescription() {
    #expect(PTE.none.description == "none")
    #expect(PTE.rw(1).description == "present|write|pfn(1)")
    #expect(PTE.ro(0).description == "present")
    #expect(PTE(rawValue: 0xFF).description == "present|write|accessed|dirty|pfn(15)")
    #expect(PTE(rawValue: PTE.pfnBits(3)).description == "pfn(3)")
    #expect(PTE.ro(2).with(PTE.dirtyBit).description == "present|dirty|pfn(2)")
    #expect("\(PTE.rw(7).with(PTE.accessedBit))" == "present|write|accessed|pfn(7)")
  }

  @Test("PTE accessors and bit constants")
  func pteAccessors() {
    let v = PTE(rawValue: 0b1010_1101)
    #expect(v.isPresent)
    #expect(!v.isWritable)
    #expect(v.isAccessed)
    #expect(v.isDirty)
    #expect(v.pfn == 10)
    #expect(PTE.pfnBits(0x1F) == 0xF0)
    #expect(PTE.hardwareBits == 0b1100)
    #expect(PTE.none.rawValue == 0)
  }
}
