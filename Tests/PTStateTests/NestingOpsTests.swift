import PTState
import Testing

/// The 2025 nesting API over enable_count/pause_count, preempt_disable/enable, might_sleep.
@Suite("Nesting counters, preemption and sleeping")
struct NestingOpsTests {
  func run(_ f: Fixture, _ op: (Machine, PackedState, inout Events) -> Void) -> Events {
    var e = Events()
    op(f.machine, f.s, &e)
    return e
  }

  @Test("only the outermost enable/disable enter and leave; a nested disable flushes")
  func nesting() {
    let f = Fixture(mode: .direct, counters: true)
    #expect(run(f) { $0.lazyMMUEnable($1, Actor(pinned: 0), &$2) }.isEmpty)
    #expect(run(f) { $0.lazyMMUEnable($1, Actor(pinned: 0), &$2) }.isEmpty)
    #expect(f.snap.contexts[0].enableCount == 2 && f.snap.cpus[0].lazy)
    #expect(f.setPTE(0, 0, .ro(1)).isEmpty)
    #expect(f.snap.cpus[0].batch.count == 1)
    // nested: flush, stay lazy
    #expect(run(f) { $0.lazyMMUDisable($1, Actor(pinned: 0), &$2) }.isEmpty)
    #expect(f.snap.cpus[0].batch.isEmpty && f.snap.cpus[0].lazy && f.snap.mem == [.ro(1)])
    #expect(run(f) { $0.lazyMMUDisable($1, Actor(pinned: 0), &$2) }.isEmpty)  // outermost: leave
    #expect(!f.snap.cpus[0].lazy && f.snap.contexts[0].enableCount == 0)
  }

  @Test("pause leaves whatever the depth, resume re-enters; calls in between do nothing")
  func pauseResume() {
    let f = Fixture(mode: .direct, counters: true)
    _ = run(f) { $0.lazyMMUEnable($1, Actor(pinned: 0), &$2) }
    #expect(run(f) { $0.lazyMMUPause($1, Actor(pinned: 0), &$2) }.isEmpty)
    #expect(!f.snap.cpus[0].lazy)
    _ = run(f) { $0.lazyMMUEnable($1, Actor(pinned: 0), &$2) }  // no effect while paused
    #expect(f.snap.contexts[0].enableCount == 1)
    #expect(run(f) { $0.lazyMMUResume($1, Actor(pinned: 0), &$2) }.isEmpty)
    #expect(f.snap.cpus[0].lazy)
  }

  @Test("underflows and a flag-based double enter are lazy_nesting violations")
  func violations() {
    let f = Fixture(mode: .direct, counters: true)
    #expect(run(f) { $0.lazyMMUDisable($1, Actor(pinned: 0), &$2) } == .lazyNesting)
    #expect(run(f) { $0.lazyMMUResume($1, Actor(pinned: 0), &$2) } == .lazyNesting)
    f.enter(0)
    #expect(run(f) { $0.enterLazy($1, Actor(pinned: 0), &$2) } == .lazyNesting)
  }

  @Test(
    "might_sleep is a violation with preemption off, a spinlock held, or in a preempt-off lazy section"
  )
  func sleeping() {
    let f = Fixture(mode: .direct, counters: true, lazyDisablesPreemption: true)
    #expect(run(f) { $0.mightSleep($1, Actor(pinned: 0), &$2) }.isEmpty)
    _ = run(f) { $0.preemptDisable($1, Actor(pinned: 0), &$2) }
    #expect(run(f) { $0.mightSleep($1, Actor(pinned: 0), &$2) } == .sleepInAtomic)
    _ = run(f) { $0.preemptEnable($1, Actor(pinned: 0), &$2) }
    #expect(run(f) { $0.preemptEnable($1, Actor(pinned: 0), &$2) } == .preemptUnderflow)
    f.lock(0)
    #expect(run(f) { $0.mightSleep($1, Actor(pinned: 0), &$2) } == .sleepInAtomic)
    f.unlock(0)
    f.enter(0)
    #expect(run(f) { $0.mightSleep($1, Actor(pinned: 0), &$2) } == .sleepInAtomic)
    let g = Fixture(mode: .direct, counters: true)  // an arch that keeps preemption on
    g.enter(0)
    #expect(run(g) { $0.mightSleep($1, Actor(pinned: 0), &$2) }.isEmpty)
  }
}
