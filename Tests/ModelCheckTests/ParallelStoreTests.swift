import Dispatch
import PTState
import Testing

@testable import ModelCheck

/// The parallel search's two stores: the next level as it is found (`NextLevel`), its first
/// states written in the store's tail, and the visited set's recording of a level by table
/// region (`VisitedSet.NewStates`).
@Suite struct ParallelStoreTests {
  @Test("the next level keeps each state once, in discovery order, with hash, parent, index")
  func nextLevel() {
    var level = NextLevel(wordCount: 2, fingerprints: false)
    let n = 5_000  // several index rehashes and arena growths
    for round in 0..<2 {
      // The second round starts from an index readied for the first's size.
      if round == 1 { level.prepare(expected: n) }
      for i in 0..<n {
        let words: [UInt64] = [UInt64(i) &* 0x9E37_79B9, 7]
        let hash = withView(words) { VisitedSet.hash($0) }
        // The index of a state added, and of a state there already.
        #expect(withView(words) { level.insert($0, hash: hash, parent: 3 * i) } == i)
        #expect(withView(words) { level.insert($0, hash: hash, parent: 0) } == i)
        #expect(level.count == i + 1)
      }
      #expect(level.count == n)
      for i in stride(from: 0, to: n, by: 37) {
        let words: [UInt64] = [UInt64(i) &* 0x9E37_79B9, 7]
        #expect(level.state(i)[word: 0] == words[0] && level.state(i)[word: 1] == 7)
        #expect(level.parent(i) == 3 * i)
        #expect(level.hash(i) == withView(words) { VisitedSet.hash($0) })
        #expect(withView(words) { level.contains($0, hash: level.hash(i)) })
      }
      #expect(!withView([1, 8]) { level.contains($0, hash: VisitedSet.hash($0)) })
      level.removeAll()
      level.prepare(expected: 10)
      // The index is cleared: a state of the last level is not in this one.
      #expect(
        level.count == 0 && !withView([0, 7]) { level.contains($0, hash: VisitedSet.hash($0)) })
      level.removeAll()
    }
  }

  @Test("states that differ only in a word their tags miss are two; under fingerprints one")
  func sameHash() {
    for fingerprints in [false, true] {
      var level = NextLevel(wordCount: 1, fingerprints: fingerprints)
      // Two states given one hash: only the comparison of their words tells them apart.
      #expect(withView([1]) { level.insert($0, hash: 42, parent: 0) } == 0)
      #expect(withView([2]) { level.insert($0, hash: 42, parent: 0) } == (fingerprints ? 0 : 1))
      #expect(level.count == (fingerprints ? 1 : 2))
    }
  }

  @Test("a level recorded by region on two threads: every state found with its id")
  func regions() throws {
    var store = StateStore(wordCount: 1)
    var visited = VisitedSet(wordCount: 1)
    let capacity = visited.capacity
    // States whose slot is the last of region 0 (of 2), so their probes run into region 1
    // and are left over, and many more spread over the table.
    var crossing: [UInt64] = []
    var spread: [UInt64] = []
    var w: UInt64 = 1
    while crossing.count < 3 || spread.count < capacity / 3 {
      let hash = withView([w]) { VisitedSet.hash($0) }
      if Int(truncatingIfNeeded: hash) & (capacity - 1) == capacity / 2 - 1 {
        if crossing.count < 3 { crossing.append(w) }
      } else if spread.count < capacity / 3 {
        spread.append(w)
      }
      w += 1
    }
    let words = crossing + spread
    _ = withView([0]) { visited.insert($0, parent: nil, into: &store) }
    let n = words.count
    let reserved = visited.reserve(n, store)
    try #require(reserved)
    let hashes = words.map { v in withView([v]) { VisitedSet.hash($0) } }
    for v in words { _ = withView([v]) { store.append($0, parent: 0) } }
    let recorder = visited.newStates()
    var left = [VisitedSet.NewStates.Left](repeating: .init(), count: 2)
    left.withUnsafeMutableBufferPointer { left in
      let shared = SharedWithThreads(value: left)
      hashes.withUnsafeBufferPointer { h in
        let hashes = SharedWithThreads(value: h)
        DispatchQueue.concurrentPerform(iterations: 2) { r in
          recorder.record(
            first: 1, hashes: hashes.value.baseAddress!, count: n, region: r, of: 2,
            into: &shared.value[r])
        }
      }
    }
    // The first crossing state fits in region 0; the next two run into region 1.
    #expect(left[0].ids == [2, 3] && left[1].ids.isEmpty)
    left.withUnsafeMutableBufferPointer { left in
      hashes.withUnsafeBufferPointer { h in
        visited.recordLeftOver(first: 1, hashes: h.baseAddress!, count: n, left)
      }
    }
    #expect(visited.count == n + 1 && store.count == n + 1)
    for (k, v) in words.enumerated() {
      #expect(withView([v]) { visited.find($0, in: store) } == k + 1)
    }
    visited._checkInvariants(store)
  }

  @Test("a table grown early, with states stored after it began, holds every state")
  func earlyGrowth() throws {
    var store = StateStore(wordCount: 1)
    var visited = VisitedSet(wordCount: 1)
    let before = 3_000
    for v in 0..<UInt64(before) {
      _ = withView([v]) { visited.insert($0, parent: v == 0 ? nil : 0, into: &store) }
    }
    let capacity = visited.capacity
    let (grows, staysSmall) = (visited.wouldGrow(adding: capacity), !visited.wouldGrow(adding: 0))
    #expect(grows && staysSmall)
    let began = visited.beginEarlyGrowth()
    try #require(began)
    let second = visited.beginEarlyGrowth()
    #expect(!second)  // one at a time
    // The table cleared (one step: it is small), part of the stored states recorded early,
    // a chunk at a time; then more are stored.
    for _ in 0..<3 {
      let more = visited.growEarly(store, chunk: 1_000)
      #expect(more)
    }
    // Until the table has grown, and a few more.
    var after = 0
    while visited.capacity == capacity || after % 100 != 0 {
      _ = withView([UInt64(before + after)]) { visited.insert($0, parent: 0, into: &store) }
      after += 1
    }
    // The insertion that grew the table swapped the early one in.
    let (grown, bytes, count) = (visited.capacity, visited.residentBytes, visited.count)
    #expect(grown > capacity && bytes == grown * 4)
    #expect(count == before + after)
    for v in stride(from: 0, to: UInt64(before + after), by: 7) {
      #expect(withView([v]) { visited.find($0, in: store) } == Int(v))
    }
    #expect(withView([UInt64(before + after)]) { visited.find($0, in: store) } == nil)
    visited._checkInvariants(store)
    // One that the level's end does not need is let go of.
    let again = visited.beginEarlyGrowth()
    try #require(again)
    var steps = 0
    while visited.growEarly(store, chunk: 1 << 20) { steps += 1 }
    #expect(steps == 2)  // the small table cleared at once, then every state recorded
    let withEarly = visited.residentBytes
    visited.dropEarlyGrowth()
    let (without, table) = (visited.residentBytes, visited.capacity)
    #expect(without == withEarly - 2 * table * 4)
    visited._checkInvariants(store)
  }

  @Test("a level's first states go into the store's tail and the rest after them, in order")
  func levelInTail() throws {
    var store = StateStore(wordCount: 2)
    for v in 0..<UInt64(100) {
      _ = withView([v, 0]) { store.append($0, parent: v == 0 ? nil : 0) }
    }
    let reserved = store.reserveTail(64)
    let tail = try #require(reserved)
    var level = NextLevel(wordCount: 2, fingerprints: false)
    level.useTail(tail, capacity: 64)
    let n = 200  // 64 in the tail, 136 in the level's own arena
    for round in 0..<2 {  // the second finds each state, in either part
      for i in 0..<n {
        let words: [UInt64] = [UInt64(1_000 + i), 7]
        let hash = withView(words) { VisitedSet.hash($0) }
        let k = withView(words) { level.insert($0, hash: hash, parent: 50 + i / 10) }
        #expect(k == i, "round \(round), state \(i)")
      }
    }
    #expect(level.count == n && level.inTail == 64)
    for i in 0..<n { #expect(level.state(i)[word: 0] == UInt64(1_000 + i)) }
    #expect(store.count == 100)  // nothing counted in yet
    let counted = store.appendTail(level.inTail) { level.parent($0) }
    let appended = store.append(n - 64, states: level.statesAfterTail) { level.parent(64 + $0) }
    #expect(counted && appended && store.count == 100 + n)
    for i in 0..<n {
      #expect(store.withState(100 + i) { $0[word: 0] } == UInt64(1_000 + i))
      #expect(store.parent(of: 100 + i) == 50 + i / 10)
    }
    store._checkInvariants()
    level.removeAll()
    #expect(level.count == 0 && level.inTail == 0)
    // No tail where the store turns to trees within it, or has turned.
    var trees = StateStore(wordCount: 3, compressAt: 150)
    for v in 0..<UInt64(100) {
      _ = withView([v, 0, 0]) { trees.append($0, parent: v == 0 ? nil : 0) }
    }
    let (across, within) = (trees.reserveTail(50), trees.reserveTail(49))
    #expect(across == nil && within != nil)
    for v in 100..<UInt64(150) { _ = withView([v, 0, 0]) { trees.append($0, parent: 0) } }
    let afterTrees = trees.reserveTail(1)
    #expect(trees.tree != nil && afterTrees == nil)
  }

  @Test("mapping pages in ahead of the merge keeps what is written there")
  func populateKeepsContents() {
    let count = 1 << 18  // 2 MiB of words: some written, the pages mapped in, read back
    let words = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
    defer { words.deallocate() }
    for i in stride(from: 0, to: count, by: 97) { words[i] = UInt64(i) &* 0x9E37_79B9 }
    populate(UnsafeMutableRawPointer(words), bytes: count * 8)
    var kept = true
    for i in stride(from: 0, to: count, by: 97) where words[i] != UInt64(i) &* 0x9E37_79B9 {
      kept = false
    }
    #expect(kept)
  }
}
