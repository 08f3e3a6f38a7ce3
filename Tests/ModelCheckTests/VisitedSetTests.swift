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
}
