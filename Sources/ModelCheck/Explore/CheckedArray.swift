#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A fixed-capacity array of plain values in memory from `malloc`, for the passes that walk
/// the whole explored graph. A Swift array aborts the process when an allocation fails;
/// this one reports it (`init` returns nil), so running out of memory in a graph pass is an
/// incomplete verdict, never a crash. `Budget` counts what the pass allocates against the
/// run's memory limit.
final class CheckedArray<Element: BitwiseCopyable> {
  let capacity: Int
  private(set) var count = 0
  private let base: UnsafeMutablePointer<Element>

  /// `capacity` elements, the first `count` of them set to `value`.
  init?(capacity: Int, count: Int = 0, repeating value: Element, budget: inout Budget) {
    let bytes = max(capacity, 1) * MemoryLayout<Element>.stride
    guard budget.take(bytes), let raw = malloc(bytes) else { return nil }
    self.capacity = capacity
    self.base = raw.bindMemory(to: Element.self, capacity: max(capacity, 1))
    base.initialize(repeating: value, count: count)
    self.count = count
  }

  deinit { free(base) }

  @inline(__always) subscript(i: Int) -> Element {
    get { base[i] }
    set { base[i] = newValue }
  }

  var isEmpty: Bool { count == 0 }
  var last: Element? { count == 0 ? nil : base[count - 1] }

  /// Appends within the capacity (the caller sized it for the worst case).
  @inline(__always) func append(_ e: Element) {
    precondition(count < capacity, "CheckedArray sized too small")
    base[count] = e
    count += 1
  }

  @inline(__always) @discardableResult func removeLast() -> Element {
    count -= 1
    return base[count]
  }
}

/// Bytes a graph pass may still allocate: the run's memory limit less what exploration
/// holds (nil: no limit, only what `malloc` can give). It also carries the run's `Watch`,
/// so a graph pass stops at the time limit or an interrupt as exploration does.
struct Budget {
  var remaining: Int?
  var watch: Watch?
  /// Why a graph pass was stopped (`mustStop`), if one was.
  var stopped: StopReason?

  init(remaining: Int?, watch: Watch? = nil) {
    self.remaining = remaining
    self.watch = watch
  }

  /// Whether a graph pass must give up now: the time limit passed or a stop was asked
  /// (then it answers nil, an incomplete verdict, as when memory runs out).
  mutating func mustStop() -> Bool {
    if stopped == nil { stopped = watch?.stop(at: monotonicSeconds()) }
    return stopped != nil
  }

  /// Takes `bytes` from the budget; false if that would exceed it.
  mutating func take(_ bytes: Int) -> Bool {
    guard let r = remaining else { return true }
    if bytes > r { return false }
    remaining = r - bytes
    return true
  }

  /// Returns `bytes` taken earlier (memory a pass has freed).
  mutating func give(_ bytes: Int) {
    if let r = remaining { remaining = r + bytes }
  }
}
