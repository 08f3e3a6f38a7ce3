import PTState

/// Tree compression of stored states (LTSmin's tree store; SPIN's collapse in spirit): a
/// state's 32-bit columns are the leaves of a fixed binary tree, each inner node is kept once
/// in a table of pairs, and a stored state is a root of 8 bytes. States of one model share
/// most of their subtrees (one CPU's registers, the page tables), so the table stays small.
///
/// The tree: the column that took the most values in the states stored before compression
/// started (`hot`) is kept whole in the root's low half; the other columns, in layout order,
/// are the leaves of a balanced tree whose top node's id is the root's high half. A node's
/// entry is its two children's values (a column's value, or a node's id) in one word.
///
/// The nodes share one array of entries (an id is an index into it; entries never move),
/// and each node has its own hash table of its ids: open addressing over `UInt32` slots
/// (id + 1; 0 is empty), linear probing, doubling at 70% load.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

final class StateTree {
  let wordCount: Int
  /// The column stored whole in the root.
  let hot: Int
  /// Inner nodes in post-order (children first; the last is the top). An operand `x >= 0`
  /// is node `x`'s id, `x < 0` is column `~x`.
  private let left: UnsafeMutablePointer<Int32>
  private let right: UnsafeMutablePointer<Int32>
  /// Per node, the columns under it (bit c: column c), when there are 64 columns or fewer.
  private let columnsUnder: UnsafeMutablePointer<UInt64>
  let nodeCount: Int
  private var entries: UnsafeMutablePointer<UInt64>
  private(set) var entryCount = 0
  private var entryCapacity: Int
  /// Per node: its table, the table's capacity - 1, and the ids it holds.
  private let tables: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>>
  private let masks: UnsafeMutablePointer<Int>
  private let tableCounts: UnsafeMutablePointer<Int>

  /// Whether states of `wordCount` words can be stored as trees: 2 words or more (a state
  /// of one word is as small as a root), and few enough columns for the node numbering.
  static func applies(wordCount: Int) -> Bool { wordCount >= 2 && wordCount * 2 <= 1 << 15 }

  /// The column to keep whole: the one with the most distinct values among `states`.
  static func hottestColumn(wordCount: Int, of states: (Int) -> PackedStateView, count: Int)
    -> Int
  {
    var best = (column: 0, values: -1)
    for c in 0..<wordCount * 2 {
      var values = Set<UInt32>()
      for id in 0..<count { values.insert(StateTree.column(states(id), c)) }
      if values.count > best.values { best = (c, values.count) }
    }
    return best.column
  }

  init(wordCount: Int, hot: Int) {
    precondition(StateTree.applies(wordCount: wordCount) && hot >= 0 && hot < wordCount * 2)
    self.wordCount = wordCount
    self.hot = hot
    let columns = (0..<wordCount * 2).filter { $0 != hot }
    var l: [Int32] = []
    var r: [Int32] = []
    var under: [UInt64] = []
    func build(_ cs: ArraySlice<Int>) -> Int32 {
      if cs.count == 1 { return ~Int32(cs[cs.startIndex]) }
      let mid = cs.startIndex + cs.count / 2
      let a = build(cs[..<mid])
      let b = build(cs[mid...])
      l.append(a)
      r.append(b)
      under.append(cs.reduce(0) { $1 < 64 ? $0 | 1 << UInt64($1) : ~0 })
      return Int32(l.count - 1)
    }
    _ = build(columns[...])
    nodeCount = l.count
    left = .allocate(capacity: nodeCount)
    left.initialize(from: l, count: nodeCount)
    right = .allocate(capacity: nodeCount)
    right.initialize(from: r, count: nodeCount)
    columnsUnder = .allocate(capacity: nodeCount)
    columnsUnder.initialize(from: under, count: nodeCount)
    entryCapacity = 1 << 12
    guard let e = malloc(entryCapacity * 8) else {
      fatalError("out of memory allocating the state tree")
    }
    entries = e.assumingMemoryBound(to: UInt64.self)
    tables = .allocate(capacity: nodeCount)
    masks = .allocate(capacity: nodeCount)
    tableCounts = .allocate(capacity: nodeCount)
    for k in 0..<nodeCount {
      guard let raw = calloc(1 << 8, 4) else {
        fatalError("out of memory allocating the state tree")
      }
      tables[k] = raw.assumingMemoryBound(to: UInt32.self)
      masks[k] = (1 << 8) - 1
      tableCounts[k] = 0
    }
  }

  deinit {
    left.deallocate()
    right.deallocate()
    columnsUnder.deallocate()
    free(entries)
    for k in 0..<nodeCount { free(tables[k]) }
    tables.deallocate()
    masks.deallocate()
    tableCounts.deallocate()
  }

  @inline(__always) static func column(_ s: PackedStateView, _ c: Int) -> UInt32 {
    UInt32(truncatingIfNeeded: s[word: c >> 1] &>> UInt64((c & 1) * 32))
  }

  @inline(__always) static func hash(_ pair: UInt64) -> Int {
    var h = (pair ^ 0x9E37_79B9_7F4A_7C15) &* 0xD6E8_FEB8_6659_FD93
    h ^= h &>> 32
    return Int(truncatingIfNeeded: h)
  }

  /// A state being expanded, as its successors' lookups use it: a successor's node whose
  /// columns the step left alone has the source's id, found without a probe (only the path
  /// from a changed column to the top is looked up).
  struct Base {
    let state: PackedStateView
    let nodes: UnsafePointer<UInt32>
  }

  /// The tables as concurrent readers see them while nothing is interned.
  struct Reader: @unchecked Sendable {
    let wordCount: Int
    let hot: Int
    let left: UnsafePointer<Int32>
    let right: UnsafePointer<Int32>
    let columnsUnder: UnsafePointer<UInt64>
    let nodeCount: Int
    let entries: UnsafePointer<UInt64>
    let tables: UnsafePointer<UnsafeMutablePointer<UInt32>>
    let masks: UnsafePointer<Int>

    /// The id of node `k`'s entry `pair`, if it is in the table.
    @inline(__always) func find(node k: Int, _ pair: UInt64) -> UInt32? {
      let (slots, mask) = (tables[k], masks[k])
      var i = StateTree.hash(pair) & mask
      while true {
        let slot = slots[i]
        if slot == 0 { return nil }
        if entries[Int(slot - 1)] == pair { return slot - 1 }
        i = (i + 1) & mask
      }
    }

    /// The root `state` is stored as, if every node of it is in the table (else no stored
    /// state is `state`).
    @inline(__always) func root(of state: PackedStateView, base: Base?) -> UInt64? {
      assert(base.map(isBase) ?? true, "a base whose node ids are not its state's")
      return withStackMemory(of: UInt32.self, nodeCount) { value in
        let changed = base.map { changedColumns(state, $0.state) } ?? ~0
        for k in 0..<nodeCount {
          if columnsUnder[k] & changed == 0, let base {
            value[k] = base.nodes[k]
            continue
          }
          let pair = operand(left[k], state, value) << 32 | operand(right[k], state, value)
          guard let id = find(node: k, pair) else { return nil }
          value[k] = id
        }
        return UInt64(value[nodeCount - 1]) << 32 | UInt64(StateTree.column(state, hot))
      }
    }

    /// Debug builds: whether `base.nodes` are the ids of `base.state`'s nodes.
    func isBase(_ base: Base) -> Bool {
      (0..<nodeCount).allSatisfy { k in
        let pair =
          UInt64(id(left[k], base)) << 32 | UInt64(id(right[k], base))
        return find(node: k, pair) == base.nodes[k]
      }
    }

    private func id(_ x: Int32, _ base: Base) -> UInt32 {
      x >= 0 ? base.nodes[Int(x)] : StateTree.column(base.state, Int(~x))
    }

    /// `root(of:base:)` as a lookup's key, worked out ahead of the insert. A root is final
    /// (nodes are never removed), but a missing node may be added by an earlier insert of
    /// the same batch (two successors can be one state), so that case is left to the
    /// insert to work out again.
    @inline(__always) func key(of state: PackedStateView, base: Base) -> StateStore.Key {
      var key = StateStore.Key(base: base)
      if let root = root(of: state, base: base) {
        key.kind = .root
        key.root = root
      }
      return key
    }

    /// Bit c set when column c differs (every bit past 64 columns).
    @inline(__always) func changedColumns(_ a: PackedStateView, _ b: PackedStateView) -> UInt64 {
      if wordCount > 32 { return ~0 }
      var changed: UInt64 = 0
      for w in 0..<wordCount {
        let x = a[word: w] ^ b[word: w]
        if UInt32(truncatingIfNeeded: x) != 0 { changed |= 1 << UInt64(2 * w) }
        if x >> 32 != 0 { changed |= 2 << UInt64(2 * w) }
      }
      return changed
    }

    @inline(__always) func operand(
      _ x: Int32, _ state: PackedStateView, _ value: UnsafeMutablePointer<UInt32>
    ) -> UInt64 {
      UInt64(x >= 0 ? value[Int(x)] : StateTree.column(state, Int(~x)))
    }

    /// Writes the state stored as `root` into `out`.
    @inline(__always) func decode(_ root: UInt64, into out: PackedState) {
      withStackMemory(of: UInt32.self, nodeCount) { value in
        decode(root, into: out, nodes: value)
      }
    }

    /// `decode`, keeping the id of every node in `nodes` (for a `Base`).
    @inline(__always) func decode(
      _ root: UInt64, into out: PackedState, nodes value: UnsafeMutablePointer<UInt32>
    ) {
      out.clear()
      put(~Int32(hot), UInt32(truncatingIfNeeded: root), out)
      do {
        value[nodeCount - 1] = UInt32(truncatingIfNeeded: root >> 32)
        for k in stride(from: nodeCount - 1, through: 0, by: -1) {
          let pair = entries[Int(value[k])]
          let (a, b) = (left[k], right[k])
          if a >= 0 { value[Int(a)] = UInt32(pair >> 32) } else { put(a, UInt32(pair >> 32), out) }
          let low = UInt32(truncatingIfNeeded: pair)
          if b >= 0 { value[Int(b)] = low } else { put(b, low, out) }
        }
      }
    }

    @inline(__always) private func put(_ x: Int32, _ v: UInt32, _ out: PackedState) {
      let c = Int(~x)
      out[word: c >> 1] |= UInt64(v) &<< UInt64((c & 1) * 32)
    }
  }

  var reader: Reader {
    Reader(
      wordCount: wordCount, hot: hot, left: left, right: right, columnsUnder: columnsUnder,
      nodeCount: nodeCount,
      entries: entries, tables: tables, masks: masks)
  }

  /// The root of `state`, adding the nodes the table lacks; nil if memory could not be had.
  func intern(_ state: PackedStateView, base: Base? = nil) -> UInt64? {
    assert(base.map(reader.isBase) ?? true, "a base whose node ids are not its state's")
    return withStackMemory(of: UInt32.self, nodeCount) { value in
      let changed = base.map { reader.changedColumns(state, $0.state) } ?? ~0
      for k in 0..<nodeCount {
        if columnsUnder[k] & changed == 0, let base {
          value[k] = base.nodes[k]
          continue
        }
        let r = reader
        let pair = r.operand(left[k], state, value) << 32 | r.operand(right[k], state, value)
        guard let id = r.find(node: k, pair) ?? add(node: k, pair) else { return nil }
        value[k] = id
      }
      return UInt64(value[nodeCount - 1]) << 32 | UInt64(StateTree.column(state, hot))
    }
  }

  private func add(node k: Int, _ pair: UInt64) -> UInt32? {
    guard entryCount < Int(UInt32.max) - 1 else { return nil }
    if entryCount == entryCapacity {
      guard let e = realloc(entries, entryCapacity * 2 * 8) else { return nil }
      entries = e.assumingMemoryBound(to: UInt64.self)
      entryCapacity *= 2
    }
    if (tableCounts[k] + 1) * 10 > (masks[k] + 1) * 7, !grow(node: k) { return nil }
    let id = entryCount
    entries[id] = pair
    entryCount += 1
    tableCounts[k] += 1
    let (slots, mask) = (tables[k], masks[k])
    var i = StateTree.hash(pair) & mask
    while slots[i] != 0 { i = (i + 1) & mask }
    slots[i] = UInt32(id + 1)
    return UInt32(id)
  }

  /// Doubles node `k`'s table, re-inserting the ids the old one holds.
  private func grow(node k: Int) -> Bool {
    let (old, oldCapacity) = (tables[k], masks[k] + 1)
    let mask = oldCapacity * 2 - 1
    guard let raw = allocateZeroed(mask + 1, 4) else { return false }
    let slots = raw.assumingMemoryBound(to: UInt32.self)
    for j in 0..<oldCapacity where old[j] != 0 {
      var i = StateTree.hash(entries[Int(old[j] - 1)]) & mask
      while slots[i] != 0 { i = (i + 1) & mask }
      slots[i] = old[j]
    }
    free(old)
    tables[k] = slots
    masks[k] = mask
    return true
  }

  /// Bytes held (what a memory limit counts).
  var residentBytes: Int {
    entryCount * 8 + (0..<nodeCount).reduce(0) { $0 + (masks[$1] + 1) * 4 }
  }
}

/// `count` values of stack memory while `body` runs (`withUnsafeTemporaryAllocation`, as a
/// pointer).
@inline(__always) func withStackMemory<T, R>(
  of type: T.Type, _ count: Int, _ body: (UnsafeMutablePointer<T>) throws -> R
) rethrows -> R {
  try withUnsafeTemporaryAllocation(of: T.self, capacity: max(count, 1)) { buffer in
    guard let base = buffer.baseAddress else { preconditionFailure("no stack memory") }
    return try body(base)
  }
}
