import PTState
import Testing

@testable import ModelCheck

/// The tests spell states as arrays of words.
func withView<R>(_ words: [UInt64], _ body: (PackedStateView) -> R) -> R {
  words.withUnsafeBufferPointer { body(PackedStateView($0.baseAddress!, wordCount: words.count)) }
}

extension VisitedSet {
  mutating func insert(_ words: [UInt64], parent: Int?, into store: inout StateStore)
    -> InsertResult
  {
    withView(words) { insert($0, parent: parent, into: &store) }
  }

  func find(_ words: [UInt64], in store: borrowing StateStore) -> Int? {
    withView(words) { find($0, in: store) }
  }
}

/// The visited set and the state arena: growth, lookups, and states whose slot and hash
/// tag agree (only the full comparison of every word tells them apart).
@Suite struct VisitedSetTests {
  @Test("grows past 70% load many times and keeps every id, in insertion order")
  func growth() {
    var store = StateStore(wordCount: 2, initialCapacity: 4)
    var visited = VisitedSet(wordCount: 2, initialCapacity: 16)
    var state: [UInt64] = [0, 0]
    let n = 20_000
    for i in 0..<n {
      state = [UInt64(i) &* 0x9E37_79B9, UInt64(i % 7)]
      guard case .inserted(let id) = visited.insert(state, parent: i == 0 ? nil : 0, into: &store)
      else {
        Issue.record("state \(i) not inserted")
        return
      }
      #expect(id == i)
    }
    #expect(store.count == n && visited.count == n)
    #expect(visited.capacity * 7 >= n * 10)  // doubled at 70%
    for i in stride(from: 0, to: n, by: 97) {
      state = [UInt64(i) &* 0x9E37_79B9, UInt64(i % 7)]
      #expect(visited.find(state, in: store) == i)
      guard case .existing(let id) = visited.insert(state, parent: 0, into: &store) else {
        Issue.record("state \(i) inserted twice")
        return
      }
      #expect(id == i)
    }
    #expect(visited.find([1, 99], in: store) == nil)
    visited._checkInvariants(store)
  }

  @Test("two states whose slot and tag agree are both kept: every word is compared")
  func tagCollision() throws {
    // Search for two one-word states with the same slot in a 16-slot table and the same
    // tag (the hash's top 28 bits): a 32-bit collision, found among a few 100,000 states.
    var seen: [UInt64: UInt64] = [:]
    var pair: (UInt64, UInt64)?
    for x in UInt64(1)...2_000_000 {
      let h = withView([x]) { VisitedSet.hash($0) }
      let key = (h & 15) | ((h >> 36) << 4)
      if let other = seen[key] {
        pair = (other, x)
        break
      }
      seen[key] = x
    }
    let (a, b) = try #require(pair)
    var store = StateStore(wordCount: 1)
    var visited = VisitedSet(wordCount: 1, initialCapacity: 16)
    _ = visited.insert([a], parent: nil, into: &store)
    guard case .inserted(let id) = visited.insert([b], parent: 0, into: &store) else {
      Issue.record("a colliding state was taken for the first one")
      return
    }
    #expect(id == 1)
    #expect(visited.find([a], in: store) == 0 && visited.find([b], in: store) == 1)
  }

  @Test("states that differ only in their last word are different states")
  func lastWordCounts() {
    var store = StateStore(wordCount: 3)
    var visited = VisitedSet(wordCount: 3)
    _ = visited.insert([1, 2, 3], parent: nil, into: &store)
    _ = visited.insert([1, 2, 4], parent: 0, into: &store)
    #expect(store.count == 2)
    #expect(!withView([1, 2, 3]) { a in withView([1, 2, 4]) { b in a.equals(b) } })
  }

  @Test("fingerprints: every state once, ids while the store holds it, unknownID after")
  func fingerprints() {
    var store = StateStore(wordCount: 2, dropsExpanded: true, initialCapacity: 4)
    var visited = VisitedSet(wordCount: 2, fingerprints: true, initialCapacity: 16)
    func state(_ i: Int) -> [UInt64] { [UInt64(i) &* 0x9E37_79B9, UInt64(i % 7)] }
    let n = 20_000
    for i in 0..<n {
      let result = visited.insert(state(i), parent: i == 0 ? nil : 0, into: &store)
      guard case .inserted(let id) = result else {
        Issue.record("state \(i) not inserted")
        return
      }
      #expect(id == i)
      // A level ends every 1,000 states: the store lets go of the ones before it.
      if i % 1000 == 999 {
        store.drop(below: i - 499)
        let indexed = visited.storeDropped(store)
        #expect(indexed)
      }
    }
    let sizes = (store.count, visited.count, visited.capacity)
    #expect(sizes.0 == n && sizes.1 == n && sizes.2 * 7 >= n * 10)
    for i in stride(from: 0, to: n, by: 37) {
      // Held states are found by id; dropped ones are known to be seen, not where.
      let expected = i >= n - 500 ? i : VisitedSet.unknownID
      let found = visited.find(state(i), in: store)
      #expect(found == expected, "state \(i)")
      guard case .existing = visited.insert(state(i), parent: 0, into: &store) else {
        Issue.record("state \(i) inserted twice")
        return
      }
    }
    let missing = visited.find([1, 99], in: store)
    #expect(missing == nil)
    let (count, first, bytes) = (store.count, store.first, store.residentBytes)
    #expect(count == n && first == n - 500)
    // The parent links outlive the states; the store holds at most 1,500 states at once.
    let parents = (store.parent(of: 1), store.parent(of: 0))
    #expect(parents.0 == 0 && parents.1 == nil)
    #expect(bytes < 1500 * 16 + 20_000)
    visited._checkInvariants(store)
  }

  @Test("a fingerprint is the whole 64-bit hash, never 0 (the empty slot)")
  func fingerprintIsTheHash() {
    #expect(VisitedSet.fingerprint(0) == 1)
    #expect(VisitedSet.fingerprint(0xDEAD_BEEF_0000_0001) == 0xDEAD_BEEF_0000_0001)
  }

  @Test("the chance of a missed state is n(n-1)/2 over 2^64")
  func omissionBound() {
    #expect(VisitedSet.omissionBound(states: 1) == 0)
    #expect(VisitedSet.omissionBound(states: 2) == 1 / 18_446_744_073_709_551_616.0)
    // 2^32 states: about a half; beyond, capped at 1.
    let half = VisitedSet.omissionBound(states: 1 << 32)
    #expect(half > 0.49 && half < 0.51)
    #expect(VisitedSet.omissionBound(states: 1 << 40) == 1)
    #expect(TextReport.scientific(1.93e-7) == "1.9e-7")
    #expect(TextReport.scientific(0.999) == "1.0")
    #expect(TextReport.scientific(9.96e-3) == "1.0e-2")
    #expect(TextReport.scientific(0) == "0")
  }
}
