/// Interchangeable CPUs, for symmetry reduction: groups of programs, each pinned to a CPU
/// of its own, that run the same code on CPUs set up alike (the compiler finds them,
/// `Program.symmetryGroups`). Swapping two members of a group, with everything that is
/// theirs (the program's pc, registers, counters and views; the CPU's lazy flag, batch,
/// TLB row, cached top-level entries, per-CPU variables) and every reference to them (lock
/// holders, a PTE's last writer), maps a reachable state to a reachable state with the same
/// futures, so one state of each such class is enough.
public struct SymmetryGroups: Sendable {
  public struct Member: Sendable, Equatable {
    public var program: Int
    public var cpu: Int
    public init(program: Int, cpu: Int) {
      self.program = program
      self.cpu = cpu
    }
  }
  /// Each group's members (at least two), in program order.
  public let groups: [[Member]]
  /// The fields that are each member's, in the same order for all of a group's, in one
  /// array: group after group and member after member, group `g`'s from `fieldStart[g]`
  /// on, `width[g]` a member. `canonicalize` reads them for every successor, through a
  /// pointer.
  let flatFields: [Field]
  let fieldStart: [Int]
  let width: [Int]
  /// Per program: its group and index in it, or nil.
  let place: [(group: Int, index: Int)?]

  public init(_ groups: [[Member]], machine: Machine) {
    self.groups = groups
    let fields = groups.map { g in g.map { machine.ownFields(program: $0.program, cpu: $0.cpu) } }
    flatFields = fields.flatMap { $0.flatMap { $0 } }
    width = fields.map { g in
      precondition(g.allSatisfy { $0.count == g[0].count }, "members with other fields")
      return g[0].count
    }
    var start = [0]
    for (g, w) in zip(fields, width) { start.append(start[start.count - 1] + g.count * w) }
    fieldStart = start
    var place = [(group: Int, index: Int)?](repeating: nil, count: machine.config.contextCount)
    for (gi, g) in groups.enumerated() {
      for (i, m) in g.enumerated() { place[m.program] = (gi, i) }
    }
    self.place = place
  }

  /// The group of program `k`'s members (`[k]` when it is in none).
  public func twins(of k: Int) -> [Int] {
    guard k < place.count, let p = place[k] else { return [k] }
    return groups[p.group].map(\.program)
  }
}

extension Machine {
  /// Everything in a state that is program `k`'s (on its CPU `c`) and nobody else's.
  func ownFields(program k: Int, cpu c: Int) -> [Field] {
    let l = layout
    var f: [Field] = [l.pc[k]]
    let base = l.registerBase[k]
    f += l.registers[base..<(base + config.registerCount[k])]
    f += [l.enableCount[k], l.pauseCount[k], l.preemptCount[k], l.taskLazy[k], l.taskLazyLocks[k]]
    f += [l.tif[k], l.fired[k]]
    f += l.view[k]
    f += [l.lazy[c], l.lazyLocks[c], l.batchCount[c]]
    let batch = l.batchBase[c]
    f += l.batchEntries[batch..<(batch + l.batchSlots[c])]
    f += l.tlb[c] + l.ipiPending[c] + l.pgdCache[c]
    f += [l.runsMM[c], l.current[c], l.inIRQ[c], l.irqsOff[c], l.inSwitch[c], l.switchNext[c]]
    for (v, shape) in config.variables.enumerated() where shape.copies == .perCPU {
      f += l.variables[v][(c * shape.elements)..<((c + 1) * shape.elements)]
    }
    return f
  }

  /// Rewrites `s` as the representative of its class: each group's members sorted by what
  /// is theirs (then by the locks they hold and the PTEs they wrote last), with lock
  /// holders and last writers renamed to match. Members that compare equal are identical,
  /// so the result is the same for every state of the class.
  @inline(__always)
  public func canonicalize(_ s: PackedState, _ symmetry: SymmetryGroups) {
    for g in symmetry.groups.indices { canonicalize(s, symmetry, group: g) }
  }

  private func canonicalize(_ s: PackedState, _ symmetry: SymmetryGroups, group g: Int) {
    let members = symmetry.groups[g]
    let m = members.count
    let width = symmetry.width[g]
    // Most states are in order already, and two members most often differ in their first
    // fields (the pc): compare neighbours in place before copying anything.
    let ordered = symmetry.flatFields.withUnsafeBufferPointer { all in
      let fields = all.baseAddress.unsafelyUnwrapped + symmetry.fieldStart[g]
      for i in 0..<(m - 1) {
        let (a, b) = (fields + i * width, fields + (i + 1) * width)
        var tie = true
        for f in 0..<width {
          let (x, y) = (s[a[f]], s[b[f]])
          if x != y {
            if x > y { return false }
            tie = false
            break
          }
        }
        if tie, !referencesInOrder(s, members[i].program, members[i + 1].program) {
          return false
        }
      }
      return true
    }
    if ordered { return }
    reorder(s, symmetry, group: g, width: width)
  }

  /// For two members whose own fields are equal: whether the first holds the locks, then
  /// wrote the PTEs, that sort first (as bit sets), or the same.
  private func referencesInOrder(_ s: PackedState, _ k: Int, _ j: Int) -> Bool {
    let (x, y) = (UInt64(k + 1), UInt64(j + 1))
    var (lx, ly, wx, wy): (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    for (l, f) in layout.lockHolder.enumerated() {
      let h = s[f]
      if h == x { lx |= 1 << l } else if h == y { ly |= 1 << l }
    }
    if lx != ly { return lx < ly }
    for (p, f) in layout.lastWriter.enumerated() where f.mask != 0 {
      let w = s[f]
      if w == x { wx |= 1 << p } else if w == y { wy |= 1 << p }
    }
    return wx <= wy
  }

  /// `canonicalize`'s slow path, for a group out of order: sorts its members' blocks. Apart,
  /// so that the group's arrays are read from `symmetry` where they are, not copied into the
  /// buffer's closure (two retains and releases a state, which two threads contend for).
  private func reorder(_ s: PackedState, _ symmetry: SymmetryGroups, group g: Int, width: Int) {
    symmetry.flatFields.withUnsafeBufferPointer { all in
      // Member i's fields: `fields[i * width..<(i + 1) * width]`.
      let fields = all.baseAddress.unsafelyUnwrapped + symmetry.fieldStart[g]
      reorder(s, symmetry, group: g, fields: fields, width: width)
    }
  }

  private func reorder(
    _ s: PackedState, _ symmetry: SymmetryGroups, group g: Int, fields: UnsafePointer<Field>,
    width: Int
  ) {
    let m = symmetry.groups[g].count
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: m * (width + 2) + 2 * m) { buffer in
      let members = symmetry.groups[g]
      // Row i: member i's fields, the locks it holds, the PTEs it wrote last.
      let row = width + 2
      for i in 0..<m {
        for j in 0..<width { buffer[i * row + j] = s[fields[i * width + j]] }
        let id = UInt64(members[i].program + 1)
        var locks: UInt64 = 0
        for (l, f) in layout.lockHolder.enumerated() where s[f] == id { locks |= 1 << l }
        var writes: UInt64 = 0
        for (p, f) in layout.lastWriter.enumerated() where f.mask != 0 && s[f] == id {
          writes |= 1 << p
        }
        buffer[i * row + width] = locks
        buffer[i * row + width + 1] = writes
      }
      // `order[i]`: the member whose block goes to place i (insertion sort: m is small).
      guard let base = buffer.baseAddress else { return }
      let order = base + m * row
      let newPlace = order + m
      for i in 0..<m { order[i] = UInt64(i) }
      func less(_ a: UInt64, _ b: UInt64) -> Bool {
        let (x, y) = (Int(a) * row, Int(b) * row)
        for j in 0..<row where buffer[x + j] != buffer[y + j] {
          return buffer[x + j] < buffer[y + j]
        }
        return false
      }
      var moved = false
      for i in 1..<m {
        var j = i
        while j > 0, less(order[j], order[j - 1]) {
          (order[j], order[j - 1]) = (order[j - 1], order[j])
          j -= 1
          moved = true
        }
      }
      guard moved else { return }
      for i in 0..<m {
        let from = Int(order[i])
        newPlace[from] = UInt64(i)
        for j in 0..<width { s[fields[i * width + j]] = buffer[from * row + j] }
      }
      // References to a member now name the member at its new place.
      func renamed(_ value: UInt64) -> UInt64 {
        guard value != 0, let p = symmetry.place[Int(value) - 1], p.group == g else { return value }
        return UInt64(members[Int(newPlace[p.index])].program + 1)
      }
      for f in layout.lockHolder { s[f] = renamed(s[f]) }
      for f in layout.lastWriter where f.mask != 0 { s[f] = renamed(s[f]) }
    }
  }
}
