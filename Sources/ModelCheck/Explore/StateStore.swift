/// Every state the explorer has found, in discovery order, with the parent of each (for
/// traces). A state's id is its index in discovery order.
///
/// A store starts with whole states, one after another in an arena of words. Once it holds
/// `compressAt` states it turns them into trees (`StateTree`): from then on the arena holds
/// one root word a state and the tree's table holds the rest, shared. Ids, order and
/// hashes stay the same, so the search, its counts and its traces do not change.
///
/// With fingerprints (`--fingerprint`) the store is the BFS queue only: `drop(below:)`
/// lets go of the states already expanded, and only the parent links of every state stay.
///
/// Invariants: `count - first <= capacity`; state `i` (`first <= i < count`) occupies words
/// `[(i - first) * stride, (i - first + 1) * stride)`, where `stride` is `wordCount`, or 1
/// once `tree` is set; the parent links hold `count` states. Growth doubles with
/// `realloc`, so untouched capacity is never resident. BFS needs no separate queue: the
/// frontier is the range `[next, count)`.
import PTState

struct StateStore: ~Copyable {
  let wordCount: Int
  private(set) var count = 0
  /// The first state still held: 0, unless the store drops expanded states.
  private(set) var first = 0
  /// Whether `drop(below:)` may let go of states (fingerprints: the visited set does not
  /// compare states, so nothing reads a state once it is expanded).
  let dropsExpanded: Bool
  /// The most states held at once (what a dropping store's arena has touched).
  private var peakHeld = 0
  private(set) var capacity: Int
  /// Words per stored state: `wordCount`, or 1 (a root) once the states are trees.
  private(set) var stride: Int
  private(set) var words: UnsafeMutablePointer<UInt64>
  private var parents = ParentLinks()
  /// The shared nodes of the stored trees, once the store has turned to trees.
  private(set) var tree: StateTree?
  /// `tree`'s tables as lookups read them, refreshed whenever the tree grows.
  private(set) var treeReader: StateTree.Reader?
  /// The count at which the store turns to trees; nil: never.
  let compressAt: Int?
  /// Scratch states outside the arena (`scratch(_:)`).
  private let scratchWords: UnsafeMutablePointer<UInt64>
  static let scratchCount = 2

  init(
    wordCount: Int, compressAt: Int? = nil, dropsExpanded: Bool = false,
    initialCapacity: Int = 1 << 12
  ) {
    self.wordCount = wordCount
    self.capacity = initialCapacity
    self.stride = wordCount
    self.dropsExpanded = dropsExpanded
    let compresses = StateTree.applies(wordCount: wordCount) && !dropsExpanded
    self.compressAt = compresses ? compressAt.map { max($0, 1) } : nil
    guard let w = malloc(initialCapacity * wordCount * 8) else {
      fatalError("out of memory allocating the state store")
    }
    self.words = w.assumingMemoryBound(to: UInt64.self)
    let scratchSize = StateStore.scratchCount * max(wordCount, 1)
    scratchWords = .allocate(capacity: scratchSize)
    scratchWords.initialize(repeating: 0, count: scratchSize)
  }

  deinit {
    free(words)
    scratchWords.deallocate()
  }

  /// A state outside the arena, for the passes that step a stored state without storing
  /// the result (a trace's actions, the retry analysis): 0 for successors, 1 for probes
  /// made while a successor is still in use.
  @inline(__always) func scratch(_ k: Int) -> PackedState {
    assert(k >= 0 && k < StateStore.scratchCount, "scratch state out of range")
    return PackedState(scratchWords + k * wordCount, wordCount: wordCount)
  }

  /// Calls `body` with state `id` (a view into the arena, or the tree decoded on the
  /// stack); the view is valid only inside `body`. Safe from several threads at once while
  /// nothing is appended.
  ///
  /// This and the accessors below repeat `Reader`'s for whole states: the inner loop calls
  /// them for every state and successor, and going through a `Reader` built per call
  /// measured slower (1.9-2.6 s against 1.9-2.0 s on the default benchmark).
  @inline(__always) func withState<R>(_ id: Int, _ body: (PackedStateView) throws -> R)
    rethrows -> R
  {
    assert(id >= first && id < count, "state id out of range")
    guard treeReader != nil else {
      return try body(whole(id))
    }
    return try reader.withState(id, body)
  }

  /// Copies state `id` into `out`.
  @inline(__always) func copyState(_ id: Int, into out: PackedState) {
    assert(id >= first && id < count, "state id out of range")
    if let treeReader {
      treeReader.decode(words[id], into: out)
    } else {
      out.copy(from: whole(id))
    }
  }

  /// The first word stored for state `id` (a load to start early; see `VisitedSet.touch`).
  @inline(__always) func firstWord(_ id: Int) -> UInt64 { words[(id - first) * stride] }

  /// Copies state `id` into `buffer`'s source, keeping its tree's node ids there for the
  /// successors' lookups (`ExpansionBuffer.base`).
  @inline(__always) func copySource(_ id: Int, into buffer: borrowing ExpansionBuffer) {
    reader.copySource(id, into: buffer)
  }

  /// `Reader.holds`, for the one thread that appends.
  @inline(__always) func holds(_ id: Int, _ state: PackedStateView, _ key: inout Key) -> Bool {
    guard treeReader != nil else {
      return whole(id).equals(state)
    }
    return reader.holds(id, state, &key)
  }

  @inline(__always) func parent(of id: Int) -> Int? { parents.parent(of: id) }

  /// State `id`'s words in the arena (whole states only).
  @inline(__always) private func whole(_ id: Int) -> PackedStateView {
    PackedStateView(words + (id - first) * wordCount, wordCount: wordCount)
  }

  /// The arena and tree as readers see them while nothing is appended (the parallel
  /// explorer's workers, the graph passes' threads); valid until the next `append`.
  @inline(__always) var reader: Reader {
    Reader(
      words: UnsafePointer(words), stride: stride, wordCount: wordCount, first: first,
      count: count, tree: treeReader)
  }

  struct Reader: @unchecked Sendable {
    let words: UnsafePointer<UInt64>
    let stride: Int
    let wordCount: Int
    let first: Int
    let count: Int
    let tree: StateTree.Reader?

    /// State `id`'s words in the arena (whole states only).
    @inline(__always) private func whole(_ id: Int) -> PackedStateView {
      PackedStateView(words + (id - first) * wordCount, wordCount: wordCount)
    }

    @inline(__always) func withState<R>(_ id: Int, _ body: (PackedStateView) throws -> R)
      rethrows -> R
    {
      assert(id >= first && id < count, "state id out of range")
      guard let tree else {
        return try body(whole(id))
      }
      return try withStackMemory(of: UInt64.self, wordCount) { w in
        let out = PackedState(w, wordCount: wordCount)
        tree.decode(words[id], into: out)
        return try body(out.view)
      }
    }

    @inline(__always) func copyState(_ id: Int, into out: PackedState) {
      assert(id >= first && id < count, "state id out of range")
      if let tree {
        tree.decode(words[id], into: out)
      } else {
        out.copy(from: whole(id))
      }
    }

    /// The first word stored for state `id` (a load to start early; see `VisitedSet.touch`).
    @inline(__always) func firstWord(_ id: Int) -> UInt64 { words[(id - first) * stride] }

    /// Asks for state `id`'s first words to be brought into cache.
    @inline(__always) func prefetchState(_ id: Int) {
      if id >= first, id < count { prefetch(words + (id - first) * stride) }
    }

    @inline(__always) func copySource(_ id: Int, into buffer: borrowing ExpansionBuffer) {
      assert(id >= first && id < count, "state id out of range")
      if let tree {
        tree.decode(words[id], into: buffer.source, nodes: buffer.nodes)
        buffer.hasBase = true
      } else {
        buffer.source.copy(from: whole(id))
        buffer.hasBase = false
      }
    }

    /// Whether state `id` is `state`. `key` keeps what the comparison worked out about
    /// `state` (its root) for the next call of the same lookup.
    @inline(__always) func holds(_ id: Int, _ state: PackedStateView, _ key: inout Key) -> Bool {
      guard let tree else {
        return whole(id).equals(state)
      }
      if key.kind == .unknown {
        if let root = tree.root(of: state, base: key.base) {
          key.kind = .root
          key.root = root
        } else {
          key.kind = .absent
        }
      }
      return key.kind == .root && words[id] == key.root
    }
  }

  /// A looked-up state's root, worked out on the first comparison that needs it (from
  /// `base`, the state it is a successor of, when that was decoded from the tree).
  struct Key {
    enum Kind { case unknown, root, absent }
    var kind = Kind.unknown
    var root: UInt64 = 0
    var base: StateTree.Base?

    init(base: StateTree.Base? = nil) { self.base = base }
  }

  /// Appends a copy of `state` (`key`: what its lookup worked out); returns false if memory
  /// could not be had.
  @inline(__always) mutating func append(_ state: PackedStateView, parent: Int?, key: Key)
    -> Bool
  {
    if count - first == capacity, !grow() { return false }
    if let tree {
      if key.kind != .root {
        guard let root = tree.intern(state, base: key.base) else { return false }
        words[count] = root
        treeReader = tree.reader
      } else {
        words[count] = key.root
      }
    } else {
      PackedState(words + (count - first) * wordCount, wordCount: wordCount).copy(from: state)
    }
    guard parents.append(parent) else { return false }
    count += 1
    peakHeld = max(peakHeld, count - first)
    if count == compressAt, tree == nil { return compress() }
    return true
  }

  @inline(__always) mutating func append(_ state: PackedStateView, parent: Int?) -> Bool {
    append(state, parent: parent, key: Key())
  }

  /// Appends `count` whole states, one after another at `states`, with their parents; false
  /// if memory could not be had. One copy for them all, unless they become trees.
  mutating func append(
    _ count: Int, states: UnsafePointer<UInt64>, parent: (Int) -> Int
  ) -> Bool {
    let end = self.count + count
    guard tree == nil, compressAt.map({ end < $0 }) ?? true else {
      for i in 0..<count {
        let state = PackedStateView(states + i * wordCount, wordCount: wordCount)
        guard append(state, parent: parent(i)) else { return false }
      }
      return true
    }
    while end - first > capacity {
      guard grow() else { return false }
    }
    (words + (self.count - first) * wordCount).update(from: states, count: count * wordCount)
    for i in 0..<count {
      guard parents.append(parent(i)) else { return false }
    }
    self.count = end
    peakHeld = max(peakHeld, end - first)
    return true
  }

  /// Room after the stored states for `n` whole states, for the caller to write there in
  /// place while the stored ones are read (the parallel search's next level: the arena
  /// does not move until the next append). Nil where the store cannot take them so: trees
  /// (or turning to trees within `n` states), a dropping store, or no memory.
  mutating func reserveTail(_ n: Int) -> UnsafeMutablePointer<UInt64>? {
    guard tree == nil, !dropsExpanded, compressAt.map({ count + n < $0 }) ?? true else {
      return nil
    }
    while count + n - first > capacity {
      guard grow() else { return nil }
    }
    return words + (count - first) * wordCount
  }

  /// Counts in the first `n` states written at `reserveTail`'s pointer, with their parents;
  /// false if memory could not be had for the links.
  mutating func appendTail(_ n: Int, parent: (Int) -> Int) -> Bool {
    precondition(
      n == 0 || tree == nil && !dropsExpanded && count + n - first <= capacity, "no tail")
    for i in 0..<n {
      guard parents.append(parent(i)) else { return false }
      count += 1
    }
    peakHeld = max(peakHeld, count - first)
    return true
  }

  /// Lets go of every state below `id` (a dropping store only): their words move out of
  /// the arena, their parent links stay. Each state moves once, at the level it is in.
  mutating func drop(below id: Int) {
    precondition(dropsExpanded && id >= first && id <= count, "dropping states not held")
    let kept = (count - id) * stride
    if kept > 0, id > first { memmove(words, words + (id - first) * stride, kept * 8) }
    first = id
  }

  /// Turns the stored states into trees, keeping whole the column that took the most values
  /// among them.
  private mutating func compress() -> Bool {
    let hot = StateTree.hottestColumn(
      wordCount: wordCount,
      of: { PackedStateView(words + $0 * wordCount, wordCount: wordCount) }, count: count)
    let tree = StateTree(wordCount: wordCount, hot: hot)
    guard let raw = malloc(capacity * 8) else { return false }
    let roots = raw.assumingMemoryBound(to: UInt64.self)
    for id in 0..<count {
      guard let root = tree.intern(PackedStateView(words + id * wordCount, wordCount: wordCount))
      else {
        free(roots)
        return false
      }
      roots[id] = root
    }
    free(words)
    words = roots
    stride = 1
    self.tree = tree
    treeReader = tree.reader
    _checkInvariants()
    return true
  }

  private mutating func grow() -> Bool {
    let newCapacity = capacity * 2
    guard let w = realloc(words, newCapacity * stride * 8) else { return false }
    words = w.assumingMemoryBound(to: UInt64.self)
    capacity = newCapacity
    _checkInvariants()
    return true
  }

  /// Bytes of stored data (what a memory limit counts; capacity beyond `count` is not
  /// resident until touched).
  var residentBytes: Int {
    (dropsExpanded ? peakHeld : count) * stride * 8 + parents.residentBytes
      + (tree?.residentBytes ?? 0)
  }

  func _checkInvariants() {
    #if DEBUG
      precondition(count - first <= capacity && first <= count)
      precondition(first == 0 || dropsExpanded)
      precondition(parents.count == count)
      precondition(stride == (tree == nil ? wordCount : 1))
      if count > 0 { precondition(parent(of: 0) == nil) }
      // A sample (a lookup scans up to 128 links): every link is checked as it is appended.
      for i in Swift.stride(from: 1, to: count, by: 97) { precondition((parent(of: i) ?? i) < i) }
    #endif
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The explorer's working states for one expansion, allocated once per search: the source
/// (copied out of the arena, since inserting a successor may grow and move the arena), and
/// every successor of it with its hash, all generated before any is inserted so that their
/// visited-set lookups overlap.
struct ExpansionBuffer: ~Copyable {
  let wordCount: Int
  let capacity: Int
  private let words: UnsafeMutablePointer<UInt64>
  private let hashes: UnsafeMutablePointer<UInt64>
  /// The source's tree node ids, when it was decoded from a tree (`StateStore.copySource`).
  let nodes: UnsafeMutablePointer<UInt32>
  private let flags: UnsafeMutablePointer<Bool>
  /// Per successor, its lookup key, when the explorer works them out before inserting.
  private let keys: UnsafeMutablePointer<StateStore.Key>
  /// Per successor, the action that produced it (what `LoopEdges` records).
  private let actions: UnsafeMutablePointer<UInt16>

  init(wordCount: Int, successors: Int) {
    self.wordCount = wordCount
    self.capacity = max(successors, 1)
    words = .allocate(capacity: (capacity + 1) * max(wordCount, 1))
    words.initialize(repeating: 0, count: (capacity + 1) * max(wordCount, 1))
    hashes = .allocate(capacity: capacity)
    hashes.initialize(repeating: 0, count: capacity)
    nodes = .allocate(capacity: max(2 * wordCount, 1))
    nodes.initialize(repeating: 0, count: max(2 * wordCount, 1))
    flags = .allocate(capacity: 1)
    flags.initialize(to: false)
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: StateStore.Key(), count: capacity)
    actions = .allocate(capacity: capacity)
    actions.initialize(repeating: 0, count: capacity)
  }

  deinit {
    words.deallocate()
    hashes.deallocate()
    nodes.deallocate()
    flags.deallocate()
    keys.deinitialize(count: capacity)
    keys.deallocate()
    actions.deallocate()
  }

  @inline(__always) func key(_ k: Int) -> StateStore.Key {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    return keys[k]
  }

  @inline(__always) func setKey(_ k: Int, _ value: StateStore.Key) {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    keys[k] = value
  }

  /// Whether `nodes` holds the source's node ids (set by `StateStore.copySource`; a source
  /// written another way must clear it).
  var hasBase: Bool {
    get { flags.pointee }
    nonmutating set { flags.pointee = newValue }
  }

  /// The source as its successors' lookups use it (`StateTree.Base`).
  @inline(__always) var base: StateTree.Base? {
    hasBase ? StateTree.Base(state: source.view, nodes: nodes) : nil
  }

  /// The state being expanded.
  @inline(__always) var source: PackedState { PackedState(words, wordCount: wordCount) }

  /// Successor slot `k`.
  @inline(__always) func successor(_ k: Int) -> PackedState {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    return PackedState(words + (k + 1) * wordCount, wordCount: wordCount)
  }

  /// The hash of successor `k`.
  @inline(__always) func hash(_ k: Int) -> UInt64 {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    return hashes[k]
  }

  @inline(__always) func setHash(_ k: Int, _ value: UInt64) {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    hashes[k] = value
  }

  /// The action that produced successor `k`.
  @inline(__always) func action(_ k: Int) -> UInt16 {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    return actions[k]
  }

  @inline(__always) func setAction(_ k: Int, _ value: Int) {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    actions[k] = UInt16(truncatingIfNeeded: value)
  }
}

/// Three expansion buffers, taken in turn by the one-thread loop (`BreadthFirst.run`) and
/// by each parallel worker (`ChunkOutput`): the state being expanded, and the two expanded
/// before it whose successors are not stored yet.
struct ExpansionRing: ~Copyable {
  let b0: ExpansionBuffer
  let b1: ExpansionBuffer
  let b2: ExpansionBuffer

  init(wordCount: Int, successors: Int) {
    b0 = ExpansionBuffer(wordCount: wordCount, successors: successors)
    b1 = ExpansionBuffer(wordCount: wordCount, successors: successors)
    b2 = ExpansionBuffer(wordCount: wordCount, successors: successors)
  }

  /// The buffers at `turn`: the current one, the one before it, and the one before that.
  @inline(__always)
  func with<R>(
    _ turn: Int,
    _ body: (borrowing ExpansionBuffer, borrowing ExpansionBuffer, borrowing ExpansionBuffer)
      throws -> R
  ) rethrows -> R {
    switch turn % 3 {
    case 0: try body(b0, b2, b1)
    case 1: try body(b1, b0, b2)
    default: try body(b2, b1, b0)
    }
  }
}
