import PTState
import Testing

@testable import ModelCheck

/// The compact store: parent links in about 2 bits a state, states kept as trees of shared
/// nodes, and a store that turns to trees part way through with the same ids and lookups.
@Suite struct StateTreeTests {
  /// A deterministic stream of numbers (the tests need no seedable generator beyond this).
  struct Stream {
    var x: UInt64
    mutating func next(_ bound: Int) -> Int {
      x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((x >> 33) % UInt64(bound))
    }
  }

  @Test("parent links: every parent read back, across gaps longer than a sample and runs")
  func parentLinks() {
    var links = ParentLinks()
    var parents: [Int?] = [nil]
    let first = links.append(nil)
    #expect(first)
    var stream = Stream(x: 7)
    var parent = 0
    for id in 1..<50_000 {
      // Mostly small steps; now and then a long gap (many states with no new successor)
      // or a long run of children of one state.
      switch stream.next(100) {
      case 0: parent += stream.next(1000)
      case 1...60: parent += stream.next(3)
      default: break
      }
      parent = min(parent, id - 1)
      let appended = links.append(parent)
      #expect(appended)
      parents.append(parent)
    }
    let (count, bytes) = (links.count, links.residentBytes)
    #expect(count == parents.count)
    for id in 0..<parents.count {
      let p = links.parent(of: id)
      #expect(p == parents[id])
    }
    // About 2 bits a state, and far below a 4-byte link.
    #expect(bytes < parents.count / 2)
  }

  /// States of three words whose columns take few values, as a model's do.
  static func states(_ n: Int, seed: UInt64) -> [[UInt64]] {
    var stream = Stream(x: seed)
    return (0..<n).map { _ in
      (0..<3).map { w in
        let low = UInt64(stream.next(w == 1 ? 5000 : 7))
        let high = UInt64(stream.next(w == 0 ? 3 : 11))
        return high << 32 | low
      }
    }
  }

  @Test("a tree decodes to its state; a state's root is found only once it is interned")
  func roundTrip() {
    let tree = StateTree(wordCount: 3, hot: 2)
    let states = Self.states(3000, seed: 11)
    var roots: [[UInt64]: UInt64] = [:]
    for s in states.prefix(2000) {
      let root = withView(s) { tree.intern($0) }!
      if let earlier = roots[s] { #expect(root == earlier) }
      roots[s] = root
    }
    withScratchStates(wordCount: 3, count: 1) { out in
      for (s, root) in roots {
        tree.reader.decode(root, into: out[0])
        #expect((0..<3).map { out[0][word: $0] } == s)
        #expect(withView(s) { tree.reader.root(of: $0, base: nil) } == root)
      }
    }
    // Distinct states have distinct roots; one never interned has none or a new one.
    #expect(Set(roots.values).count == roots.count)
    for s in states.suffix(1000) where roots[s] == nil {
      let root = withView(s) { tree.reader.root(of: $0, base: nil) }
      #expect(root == nil || !roots.values.contains(root!))
    }
  }

  @Test("a successor's root from its source's node ids is its root from scratch")
  func incrementalRoot() {
    let tree = StateTree(wordCount: 3, hot: 0)
    var stream = Stream(x: 3)
    for s in Self.states(500, seed: 5) {
      _ = withView(s) { tree.intern($0) }
    }
    withScratchStates(wordCount: 3, count: 2) { scratch in
      let (source, successor) = (scratch[0], scratch[1])
      let nodes = UnsafeMutablePointer<UInt32>.allocate(capacity: tree.nodeCount)
      defer { nodes.deallocate() }
      for s in Self.states(300, seed: 5) {
        let root = withView(s) { tree.reader.root(of: $0, base: nil) }!
        tree.reader.decode(root, into: source, nodes: nodes)
        let base = StateTree.Base(state: source.view, nodes: nodes)
        for _ in 0..<4 {
          successor.copy(from: source.view)
          // Change one or two columns (the hot one too, sometimes).
          for _ in 0...stream.next(2) {
            let c = stream.next(6)
            let bits = UInt64(stream.next(9)) << UInt64((c & 1) * 32)
            successor[word: c >> 1] ^= bits
          }
          let full = tree.reader.root(of: successor.view, base: nil)
          #expect(tree.reader.root(of: successor.view, base: base) == full)
          let interned = tree.intern(successor.view, base: base)
          #expect(interned == tree.intern(successor.view))
          #expect(full == nil || full == interned)
        }
      }
    }
  }

  @Test("a store that turns to trees keeps ids, lookups, parents and its states, in less memory")
  func storeTurnsToTrees() {
    // As a model's: each column takes few values, one (word 1's high half) many.
    let states: [[UInt64]] = (0..<20_000).map { (i: Int) -> [UInt64] in
      let word0: UInt64 = UInt64(i % 3) << 32 | UInt64(i % 50)
      let word1: UInt64 = UInt64(i / 150) << 32 | UInt64(i % 7)
      return [word0, word1, 5]
    }
    var whole = StateStore(wordCount: 3)
    var trees = StateStore(wordCount: 3, compressAt: 1000)
    var wholeSet = VisitedSet(wordCount: 3)
    var treeSet = VisitedSet(wordCount: 3)
    for (i, s) in states.enumerated() {
      let parent = i == 0 ? nil : (i - 1) / 3
      guard case .inserted(let a) = wholeSet.insert(s, parent: parent, into: &whole),
        case .inserted(let b) = treeSet.insert(s, parent: parent, into: &trees)
      else {
        Issue.record("state \(i) not inserted")
        return
      }
      #expect(a == i && b == i)
    }
    let (wholeTree, treeTree) = (whole.tree, trees.tree)
    #expect(wholeTree == nil && treeTree != nil)
    for (i, s) in states.enumerated() where i % 7 == 0 {
      #expect(treeSet.find(s, in: trees) == i)
      guard case .existing(i) = treeSet.insert(s, parent: 0, into: &trees) else {
        Issue.record("state \(i) stored twice")
        return
      }
      let words = trees.withState(i) { v in (0..<3).map { v[word: $0] } }
      #expect(words == s)
      let (p, q) = (trees.parent(of: i), whole.parent(of: i))
      #expect(p == q)
    }
    #expect(treeSet.find([99, 99, 99], in: trees) == nil)
    let (count, treeBytes, wholeBytes) = (trees.count, trees.residentBytes, whole.residentBytes)
    #expect(count == states.count)
    treeSet._checkInvariants(trees)
    #expect(treeBytes * 2 < wholeBytes)
  }
}

/// Two actions that always lead to the same state, whose words are new ones (so their tree
/// nodes are new): a store of trees must still keep it once.
struct TwinStepSystem: TransitionSystem {
  var processCount: Int { 1 }
  var wordCount: Int { 2 }
  var actionCount: Int { 3 }
  func writeInitialState(_ s: PackedState) -> StepOutcome {
    (s[word: 0], s[word: 1]) = (1, 1)
    return StepOutcome(enabled: true)
  }
  func apply(_ a: Int, to s: PackedState) -> StepOutcome {
    let x = s[word: 0]
    let next = a == 2 ? x &* 3 % 10_007 : (x + 1) % 10_007
    (s[word: 0], s[word: 1]) = (next, next &* 0x9E37_79B9 << 20)
    return StepOutcome(enabled: true)
  }
  func process(of a: Int) -> Int { 0 }
  func isProgress(_ a: Int) -> Bool { true }
  func isFinished(_ s: PackedStateView) -> Bool { false }
  func finalViolations(_ s: PackedStateView) -> UInt32 { 0 }
}

@Suite struct TreeStoreExplorationTests {
  @Test(
    "two successors that are one new state are stored once, with trees as without",
    arguments: [1, 2])
  func twinSuccessors(threads: Int) {
    var counts: [Int] = []
    var limits = Limits()
    limits.threads = threads
    for compressAt in [nil, 1, 100] as [Int?] {
      var explorer = BreadthFirst(system: TwinStepSystem(), compressAt: compressAt)
      explorer.run(limits: limits, safetyBits: 0, deadlockBit: 0, needsFullGraph: true)
      counts.append(explorer.store.count)
      // On two threads the store turns to trees inside a level (at 100).
      #expect((explorer.store.tree != nil) == (compressAt != nil))
    }
    // Every x below 10,007 (x + 1 reaches them all) with its second word, and the initial
    // state, whose second word is 1.
    #expect(counts == [10_008, 10_008, 10_008])
  }
}
