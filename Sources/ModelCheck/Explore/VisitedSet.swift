/// The set of states seen: open addressing over `UInt32` slots; the states themselves
/// live in the `StateStore` and are compared there (word by word, or by tree root).
/// Capacity is a power of two (2^k), probing is linear, and the table doubles at 70% load.
/// 4 bytes a slot keeps the table small (6-11 B a state).
///
/// A slot holds a state's id + 1 in its low k bits (ids stay below 0.7 * 2^k, so they fit,
/// and 0 means empty) and a tag of the state's hash in the other 32 - k bits, as Rumur
/// keeps hash bits beside pointers: a probe only reads the store (a likely cache miss)
/// when the tags agree.
///
/// The hash has a fixed seed (never `Hasher`, which is seeded per process), so state
/// numbering, traces and statistics are the same on every run.
///
/// With fingerprints (`--fingerprint`, hash compaction as SPIN's and TLC's) a slot holds
/// the state's whole 64-bit hash instead, and a lookup compares hashes, never states: the
/// store may drop expanded states. Two states with one hash are then taken for one, so a
/// state may be missed; `omissionBound` is the chance of that. Ids are kept only for the
/// states the store still holds (the level being expanded and the next), in an exact
/// index of them (`window`): a lookup of an older state answers `Self.unknownID`, which
/// every caller reads as "stored before the next level". So the cycle proviso, which asks
/// whether a successor is in the next level, gets the answer it gets without fingerprints.
import PTState

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

struct VisitedSet: ~Copyable {
  private(set) var slots: UnsafeMutablePointer<UInt32>
  /// The fingerprints' slots (`capacity` of them), in place of `slots`; nil: exact.
  private(set) var fingerprints: UnsafeMutablePointer<UInt64>?
  /// Under fingerprints, the index of the states the store holds: `id - windowFirst + 1` in
  /// slots found by hash (0: empty), compared in the store.
  private var window: UnsafeMutablePointer<UInt32>?
  private var windowCapacity = 0
  private var windowCount = 0
  private var windowFirst = 0
  private(set) var capacity: Int
  private(set) var count = 0
  private let wordCount: Int

  /// Low bits of a slot that hold the id.
  private var idMask: UInt32 { UInt32(truncatingIfNeeded: capacity - 1) }

  @inline(__always) private func tag(_ hash: UInt64) -> UInt32 {
    Self.tag(hash, idMask: idMask)
  }

  /// The tag a slot keeps of `hash` beside an id in the bits `idMask` leaves.
  @inline(__always) static func tag(_ hash: UInt64, idMask: UInt32) -> UInt32 {
    UInt32(truncatingIfNeeded: hash >> 32) & ~idMask
  }

  static let maxCapacity = 1 << 31
  /// What a lookup answers for a seen state under fingerprints (see the type's comment).
  static let unknownID = -1

  init(wordCount: Int, fingerprints: Bool = false, initialCapacity: Int = 1 << 14) {
    self.wordCount = wordCount
    self.capacity = initialCapacity
    // Under fingerprints, `slots` is one unused slot.
    guard let raw = calloc(fingerprints ? 1 : initialCapacity, 4) else {
      fatalError("out of memory allocating the visited set")
    }
    self.slots = raw.assumingMemoryBound(to: UInt32.self)
    self.fingerprints = nil
    if fingerprints {
      guard let fp = calloc(initialCapacity, 8), let w = calloc(1 << 10, 4) else {
        fatalError("out of memory allocating the visited set")
      }
      self.fingerprints = fp.assumingMemoryBound(to: UInt64.self)
      self.window = w.assumingMemoryBound(to: UInt32.self)
      self.windowCapacity = 1 << 10
    }
  }

  deinit {
    free(slots)
    if let fingerprints { free(fingerprints) }
    if let window { free(window) }
    if let early = earlyGrowth { free(early.slots) }
  }

  /// A state's fingerprint: its hash, but never 0 (an empty slot).
  @inline(__always) static func fingerprint(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

  /// An upper bound on the chance that hash compaction missed a state among `states`: each
  /// new state's hash equals one of the earlier ones' with chance at most (its number) / 2^64,
  /// so n(n-1)/2 / 2^64 in all (for uniform hashes: the estimate SPIN and TLC print).
  static func omissionBound(states: Int) -> Double {
    let n = Double(states)
    return min(n * (n - 1) / 2 / 18_446_744_073_709_551_616.0, 1)
  }

  @inline(__always)
  static func hash(_ s: PackedStateView) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for i in 0..<s.wordCount {
      h = (h ^ s[word: i]) &* 0x9E37_79B9_7F4A_7C15
      h ^= h &>> 29
    }
    h = (h ^ (h &>> 32)) &* 0xD6E8_FEB8_6659_FD93
    return h ^ (h &>> 32)
  }

  /// Loads the slot `hash` lands on and the first word of the state it names, and returns
  /// them folded together. A later `insert` of the same state then finds both in cache:
  /// issuing these loads for every successor first lets their cache misses overlap.
  @inline(__always)
  func touch(hash: UInt64, in store: borrowing StateStore) -> UInt64 {
    if let fingerprints { return fingerprints[Int(truncatingIfNeeded: hash) & (capacity - 1)] }
    // Branch-free: a branch on the slot would wait for its cache miss. An empty slot
    // reads state 0, which is harmless.
    let slot = slots[Int(truncatingIfNeeded: hash) & (capacity - 1)]
    let id = max(Int(slot & idMask) - 1, 0)
    return store.firstWord(id) ^ UInt64(slot)
  }

  /// `touch` in two steps, for a batch: load the slot of every hash first, then the state
  /// each slot names (`touch(slot:in:)`), so that both rounds of cache misses overlap.
  @inline(__always)
  func slot(hash: UInt64) -> UInt32 { slots[Int(truncatingIfNeeded: hash) & (capacity - 1)] }

  /// The first word of the state a slot names, folded with the slot (see `slot(hash:)`).
  @inline(__always)
  func touch(slot: UInt32, in store: borrowing StateStore) -> UInt64 {
    let id = max(Int(slot & idMask) - 1, 0)
    return store.firstWord(id) ^ UInt64(slot)
  }

  /// The id of `state` if it was seen (`base`: the state it is a successor of, if decoded
  /// from the store's tree, which saves tree lookups).
  @inline(__always)
  func find(
    _ state: PackedStateView, in store: borrowing StateStore, base: StateTree.Base? = nil
  ) -> Int? {
    let mask = capacity - 1
    let hash = VisitedSet.hash(state)
    if let fingerprints {
      guard Self.find(fingerprint: hash, in: fingerprints, mask: mask) != nil else { return nil }
      var key = StateStore.Key(base: base)
      return Self.windowID(
        hash: hash, window, windowCapacity, windowFirst,
        holds: { store.holds($0, state, &key) }) ?? Self.unknownID
    }
    let t = tag(hash)
    var i = Int(truncatingIfNeeded: hash) & mask
    var key = StateStore.Key(base: base)
    while true {
      let slot = slots[i]
      if slot == 0 { return nil }
      if slot & ~idMask == t {
        let id = Int((slot & idMask) - 1)
        if store.holds(id, state, &key) { return id }
      }
      i = (i + 1) & mask
    }
  }

  enum InsertResult {
    case existing(Int)
    case inserted(Int)
    case outOfMemory
  }

  /// Finds `state`, or appends it to `store` (with `parent`) and records it.
  @inline(__always)
  mutating func insert(_ state: PackedStateView, parent: Int?, into store: inout StateStore)
    -> InsertResult
  {
    insert(state, hash: VisitedSet.hash(state), parent: parent, into: &store)
  }

  @inline(__always)
  mutating func insert(
    _ state: PackedStateView, hash: UInt64, parent: Int?, key: StateStore.Key = .init(),
    into store: inout StateStore
  ) -> InsertResult {
    if wouldGrow(adding: 1), !grow(store) { return .outOfMemory }
    let mask = capacity - 1
    if let fingerprints {
      let fp = Self.fingerprint(hash)
      var i = Int(truncatingIfNeeded: hash) & mask
      while true {
        let slot = fingerprints[i]
        if slot == 0 { break }
        if slot == fp { return .existing(Self.unknownID) }
        i = (i + 1) & mask
      }
      let id = store.count
      guard store.append(state, parent: parent, key: key) else { return .outOfMemory }
      fingerprints[i] = fp
      count += 1
      guard indexInWindow(id, hash: hash, store) else { return .outOfMemory }
      return .inserted(id)
    }
    let t = tag(hash)
    var i = Int(truncatingIfNeeded: hash) & mask
    var key = key
    while true {
      let slot = slots[i]
      if slot == 0 { break }
      if slot & ~idMask == t {
        let id = Int((slot & idMask) - 1)
        if store.holds(id, state, &key) { return .existing(id) }
      }
      i = (i + 1) & mask
    }
    let id = store.count
    guard store.append(state, parent: parent, key: key) else { return .outOfMemory }
    slots[i] = t | UInt32(id + 1)
    count += 1
    return .inserted(id)
  }

  /// Whether `extra` more states would make the table grow (past 70% load).
  @inline(__always) func wouldGrow(adding extra: Int) -> Bool {
    (count + extra) * 10 > capacity * 7
  }

  /// Grows the table now, as often as it must, so that `extra` more states fit without
  /// growing (before they are appended to `store`: growing re-inserts the store's states).
  mutating func reserve(_ extra: Int, _ store: borrowing StateStore) -> Bool {
    precondition(store.count == count, "reserve before appending")
    while wouldGrow(adding: extra) {
      guard grow(store) else { return false }
    }
    return true
  }

  /// What records new states in the exact table from several threads at once
  /// (`NewStates.record`); valid until the table grows.
  func newStates() -> NewStates {
    precondition(fingerprints == nil, "the fingerprint table takes states one by one")
    return NewStates(slots: slots, capacity: capacity)
  }

  /// States known to be new, just appended to the store with ids `first...`, recorded in
  /// the table by region: a thread takes the states whose slot lands in its region and
  /// whose probe ends there (it writes only there), so threads never write one slot. The
  /// few whose probe would run into the next region are left for `recordLeftOver`.
  struct NewStates: @unchecked Sendable {
    let slots: UnsafeMutablePointer<UInt32>
    let capacity: Int

    /// What one region's thread leaves: the ids whose probe left the region.
    struct Left {
      var ids: [Int] = []
    }

    /// Records states `first + k` (hash `hashes[k]`), `k` below `count`, whose slot is in
    /// region `region` of `regions`; a batch's slots are asked for first, so that their
    /// cache misses overlap.
    func record(
      first: Int, hashes: UnsafePointer<UInt64>, count: Int, region: Int, of regions: Int,
      into left: inout Left
    ) {
      let mask = capacity - 1
      let idMask = UInt32(truncatingIfNeeded: mask)
      let lower = region * capacity / regions
      let upper = (region + 1) * capacity / regions
      let batch = VisitedSet.recordBatch
      var pending = [Int](repeating: 0, count: batch)
      for start in Swift.stride(from: 0, to: count, by: batch) {
        var n = 0
        for k in start..<min(count, start + batch) {
          let i = Int(truncatingIfNeeded: hashes[k]) & mask
          guard i >= lower, i < upper else { continue }
          prefetchForWrite(slots + i)
          pending[n] = k
          n += 1
        }
        for k in pending[0..<n] {
          let hash = hashes[k]
          var i = Int(truncatingIfNeeded: hash) & mask
          while i < upper, slots[i] != 0 { i += 1 }
          if i == upper {
            left.ids.append(first + k)
            continue
          }
          slots[i] = VisitedSet.tag(hash, idMask: idMask) | UInt32(first + k + 1)
        }
      }
    }
  }

  /// The end of a `NewStates` round: the states the regions left over, and the count.
  mutating func recordLeftOver(
    first: Int, hashes: UnsafePointer<UInt64>, count: Int,
    _ left: UnsafeMutableBufferPointer<NewStates.Left>
  ) {
    let mask = capacity - 1
    for id in left.lazy.flatMap(\.ids) {
      let hash = hashes[id - first]
      var i = Int(truncatingIfNeeded: hash) & mask
      while slots[i] != 0 { i = (i + 1) & mask }
      slots[i] = tag(hash) | UInt32(id + 1)
    }
    self.count += count
  }

  /// `find` under fingerprints: `unknownID` if the hash is in the table.
  @inline(__always)
  static func find(fingerprint hash: UInt64, in slots: UnsafePointer<UInt64>, mask: Int) -> Int? {
    let fp = fingerprint(hash)
    var i = Int(truncatingIfNeeded: hash) & mask
    while true {
      let slot = slots[i]
      if slot == 0 { return nil }
      if slot == fp { return unknownID }
      i = (i + 1) & mask
    }
  }

  /// Doubles the table and re-inserts every id (`rehash`), or swaps in the early table.
  private mutating func grow(_ store: borrowing StateStore) -> Bool {
    if fingerprints != nil { return growFingerprints() }
    if var early = earlyGrowth, early.capacity == capacity * 2 {
      // Built while the level was expanded: only the ids since are left.
      earlyGrowth = nil
      early.clear(upTo: early.capacity)
      VisitedSet.rehash(
        early.filled..<store.count, of: store, into: early.slots, capacity: early.capacity)
      free(slots)
      slots = early.slots
      capacity = early.capacity
      return true
    }
    let newCapacity = capacity * 2
    guard newCapacity <= VisitedSet.maxCapacity, let raw = allocateZeroed(newCapacity, 4) else {
      return false
    }
    free(slots)
    slots = raw.assumingMemoryBound(to: UInt32.self)
    capacity = newCapacity
    VisitedSet.rehash(0..<store.count, of: store, into: slots, capacity: capacity)
    return true
  }

  /// Records the stored states `ids` in `slots`, a table of `capacity` (a growth). Hashes
  /// and tags are recomputed from the store, read in order (sequential reads; only the
  /// table writes are scattered), a batch at a time: each slot is asked for as soon as its
  /// hash is known, so that the batch's cache misses overlap with each other and with the
  /// hashing. Safe beside readers of the store while nothing is appended.
  private static func rehash(
    _ ids: Range<Int>, of store: borrowing StateStore, into slots: UnsafeMutablePointer<UInt32>,
    capacity: Int
  ) {
    let mask = capacity - 1
    let idMask = UInt32(truncatingIfNeeded: mask)
    let words = UnsafeMutablePointer<UInt64>.allocate(capacity: max(store.wordCount, 1))
    defer { words.deallocate() }
    let state = PackedState(words, wordCount: store.wordCount)
    let batch = recordBatch
    var hashes = [UInt64](repeating: 0, count: batch)
    for first in Swift.stride(from: ids.lowerBound, to: ids.upperBound, by: batch) {
      let end = min(first + batch, ids.upperBound)
      for id in first..<end {
        store.copyState(id, into: state)
        let hash = VisitedSet.hash(state.view)
        hashes[id - first] = hash
        prefetchForWrite(slots + (Int(truncatingIfNeeded: hash) & mask))
      }
      for id in first..<end {
        let hash = hashes[id - first]
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = VisitedSet.tag(hash, idMask: idMask) | UInt32(id + 1)
      }
    }
  }

  /// Slots a record pass asks for before it writes them (`rehash`, `NewStates.record`):
  /// enough that their misses overlap. Prefetches, unlike loads, do not hold back the
  /// instructions after them, so more than the processor's reorder window can be in
  /// flight (32 loads measured slower than 64 prefetches).
  static var recordBatch: Int { 64 }

  /// A doubled exact table the parallel search builds while a level is expanded, before the
  /// level's end needs it: the thread that merges, when it would wait, clears a part of it
  /// or records a few stored states in it (`growEarly`). The table it replaces is read all
  /// the while, and the store does not change. The level's end (`grow`) clears and records
  /// the rest and swaps it in; a level's end that does not need it lets it go.
  private var earlyGrowth: EarlyGrowth?

  struct EarlyGrowth {
    let slots: UnsafeMutablePointer<UInt32>
    let capacity: Int
    /// The slots below this are cleared. A table is cleared before any state is recorded
    /// in it, a part at a time: clearing it at once (32 MiB at 8 M slots) held the merge
    /// up for milliseconds, and the other threads waited for it with the ring full.
    var cleared = 0
    /// The ids below this are recorded.
    var filled = 0

    /// Clears the slots up to `end`.
    mutating func clear(upTo end: Int) {
      guard end > cleared else { return }
      memset(slots + cleared, 0, (end - cleared) * 4)
      cleared = end
    }
  }

  /// Starts building the doubled table (exact tables only; one at a time). False when it
  /// does not start (memory, or one is built already).
  mutating func beginEarlyGrowth() -> Bool {
    guard fingerprints == nil, earlyGrowth == nil, capacity * 2 <= VisitedSet.maxCapacity,
      let raw = malloc(capacity * 2 * 4)
    else { return false }
    earlyGrowth = EarlyGrowth(
      slots: raw.assumingMemoryBound(to: UInt32.self), capacity: capacity * 2)
    return true
  }

  /// Slots an early growth clears at a time (256 KiB: about as long as recording a chunk).
  static var clearChunk: Int { 1 << 16 }

  /// Clears a part of the early table, or once it is clear, records up to `chunk` more
  /// stored states in it; false once all are.
  mutating func growEarly(_ store: borrowing StateStore, chunk: Int) -> Bool {
    guard var early = earlyGrowth, early.filled < store.count else { return false }
    defer { earlyGrowth = early }
    if early.cleared < early.capacity {
      early.clear(upTo: min(early.capacity, early.cleared + VisitedSet.clearChunk))
      return true
    }
    let end = min(store.count, early.filled + chunk)
    VisitedSet.rehash(
      early.filled..<end, of: store, into: early.slots, capacity: early.capacity)
    early.filled = end
    return true
  }

  /// Lets an early table go, if there is one (the level's end did not need it).
  mutating func dropEarlyGrowth() {
    if let early = earlyGrowth { free(early.slots) }
    earlyGrowth = nil
  }

  /// The id of the state in the window whose hash is `hash` and that `holds` accepts.
  @inline(__always)
  static func windowID(
    hash: UInt64, _ window: UnsafePointer<UInt32>?, _ capacity: Int, _ first: Int,
    holds: (Int) -> Bool
  ) -> Int? {
    guard let window else { return nil }
    let mask = capacity - 1
    var i = Int(truncatingIfNeeded: hash) & mask
    while true {
      let slot = window[i]
      if slot == 0 { return nil }
      let id = Int(slot) - 1 + first
      if holds(id) { return id }
      i = (i + 1) & mask
    }
  }

  /// Adds state `id` (just appended to `store`) to the window's index, doubling it at 50%.
  private mutating func indexInWindow(
    _ id: Int, hash: UInt64, _ store: borrowing StateStore
  ) -> Bool {
    if (windowCount + 1) * 2 > windowCapacity {
      return reindexWindow(store, capacity: windowCapacity * 2)
    }
    guard let window else { return false }
    let mask = windowCapacity - 1
    var i = Int(truncatingIfNeeded: hash) & mask
    while window[i] != 0 { i = (i + 1) & mask }
    window[i] = UInt32(id - windowFirst + 1)
    windowCount += 1
    return true
  }

  /// The store let go of the states below its `first`: index the ones it holds afresh.
  mutating func storeDropped(_ store: borrowing StateStore) -> Bool {
    let held = store.count - store.first
    var capacity = 1 << 10
    while held * 2 > capacity { capacity *= 2 }
    return reindexWindow(store, capacity: capacity)
  }

  /// Rebuilds the window's index over the states `store` holds, in `capacity` slots.
  private mutating func reindexWindow(_ store: borrowing StateStore, capacity: Int) -> Bool {
    guard let raw = allocateZeroed(capacity, 4) else { return false }
    if let window { free(window) }
    let new = raw.assumingMemoryBound(to: UInt32.self)
    window = new
    windowCapacity = capacity
    windowFirst = store.first
    windowCount = store.count - store.first
    let mask = capacity - 1
    for id in store.first..<store.count {
      let hash = store.withState(id) { VisitedSet.hash($0) }
      var i = Int(truncatingIfNeeded: hash) & mask
      while new[i] != 0 { i = (i + 1) & mask }
      new[i] = UInt32(id - store.first + 1)
    }
    return true
  }

  /// Doubles a table of fingerprints: each slot is its own hash, so no state is read.
  private mutating func growFingerprints() -> Bool {
    guard let old = fingerprints else { return false }
    let newCapacity = capacity * 2
    guard newCapacity <= VisitedSet.maxCapacity, let raw = allocateZeroed(newCapacity, 8) else {
      return false
    }
    let new = raw.assumingMemoryBound(to: UInt64.self)
    let mask = newCapacity - 1
    for k in 0..<capacity where old[k] != 0 {
      var i = Int(truncatingIfNeeded: old[k]) & mask
      while new[i] != 0 { i = (i + 1) & mask }
      new[i] = old[k]
    }
    free(old)
    fingerprints = new
    capacity = newCapacity
    return true
  }

  var residentBytes: Int {
    capacity * (fingerprints == nil ? 4 : 8) + windowCapacity * 4 + (earlyGrowth?.capacity ?? 0) * 4
  }

  /// The table as threads that only look states up see it, while nothing is inserted (the
  /// parallel explorer's workers, the graph passes' threads).
  struct Probe: @unchecked Sendable {
    let slots: UnsafePointer<UInt32>
    let fingerprints: UnsafePointer<UInt64>?
    let window: UnsafePointer<UInt32>?
    let windowCapacity: Int
    let windowFirst: Int
    let capacity: Int
    let store: StateStore.Reader

    /// Asks for the slot `hash` lands on to be brought into cache, without waiting for it.
    @inline(__always)
    func prefetchSlot(hash: UInt64) {
      let i = Int(truncatingIfNeeded: hash) & (capacity - 1)
      if let fingerprints { prefetch(fingerprints + i) } else { prefetch(slots + i) }
    }

    /// Asks for the state named by the slot `hash` lands on to be brought into cache (after
    /// `prefetchSlot`, once the slot is in: the state a later lookup compares with).
    @inline(__always)
    func prefetchState(hash: UInt64) {
      guard fingerprints == nil else { return }
      let mask = capacity - 1
      let idMask = UInt32(truncatingIfNeeded: mask)
      let t = VisitedSet.tag(hash, idMask: idMask)
      var i = Int(truncatingIfNeeded: hash) & mask
      while true {
        let slot = slots[i]
        if slot == 0 { return }
        if slot & ~idMask == t {
          store.prefetchState(Int(slot & idMask) - 1)
          return
        }
        i = (i + 1) & mask
      }
    }

    /// Whether `state` (whose hash is `hash`) is in the table.
    @inline(__always)
    func contains(_ state: PackedStateView, hash: UInt64, base: StateTree.Base?) -> Bool {
      id(of: state, hash: hash, base: base) != nil
    }

    /// The id of `state` (whose hash is `hash`), if it is in the table (`base` as for
    /// `VisitedSet.find`).
    @inline(__always)
    func id(of state: PackedStateView, hash: UInt64, base: StateTree.Base?) -> Int? {
      let mask = capacity - 1
      if let fingerprints {
        guard VisitedSet.find(fingerprint: hash, in: fingerprints, mask: mask) != nil else {
          return nil
        }
        var key = StateStore.Key(base: base)
        return VisitedSet.windowID(
          hash: hash, window, windowCapacity, windowFirst,
          holds: { store.holds($0, state, &key) }) ?? VisitedSet.unknownID
      }
      let idMask = UInt32(truncatingIfNeeded: mask)
      let t = VisitedSet.tag(hash, idMask: idMask)
      var i = Int(truncatingIfNeeded: hash) & mask
      var key = StateStore.Key(base: base)
      while true {
        let slot = slots[i]
        if slot == 0 { return nil }
        if slot & ~idMask == t {
          let id = Int((slot & idMask) - 1)
          if store.holds(id, state, &key) { return id }
        }
        i = (i + 1) & mask
      }
    }
  }

  func probe(_ store: borrowing StateStore) -> Probe {
    Probe(
      slots: slots, fingerprints: fingerprints.map { UnsafePointer($0) },
      window: window.map { UnsafePointer($0) }, windowCapacity: windowCapacity,
      windowFirst: windowFirst, capacity: capacity, store: store.reader)
  }

  /// Debug builds only: the table holds `count` ids, each once, each found by its state.
  func _checkInvariants(_ store: borrowing StateStore) {
    #if DEBUG
      if let fingerprints {
        // Every state was inserted once; the states themselves are gone.
        let occupied = (0..<capacity).count { fingerprints[$0] != 0 }
        precondition(occupied == count && count == store.count, "visited set count")
        return
      }
      var occupied = 0
      for i in 0..<capacity where slots[i] != 0 { occupied += 1 }
      precondition(occupied == count && count == store.count, "visited set count")
      for id in 0..<store.count {
        let found = store.withState(id) { find($0, in: store) }
        precondition(found == id, "state \(id) not found")
      }
    #endif
  }
}
