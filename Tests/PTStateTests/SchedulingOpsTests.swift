import PTState
import Testing

/// Programs (contexts) separate from CPUs: tasks that switch and migrate, lazy state per
/// CPU or per task, Xen's context-switch hooks, and interrupt handlers.
@Suite("Tasks, context switches and interrupts")
struct SchedulingOpsTests {
  /// Two bare CPUs, one task (context 0) starting on cpu0, and (if asked) a handler
  /// (context 1) on cpu0. One PTE, no lock.
  func machine(
    perTask: Bool = false, hooks: Bool = false, handler: Bool = false, neverLazy: Bool = false
  )
    -> (Machine, UnsafeMutablePointer<UInt64>)
  {
    let contexts = handler ? 2 : 1
    var config = MachineConfig(
      mode: .direct, cpuCount: 2, pteCount: 1, lockCount: 0, ptlOf: [nil], batchLimit: 4,
      registerCount: Array(repeating: 1, count: contexts),
      pcLimit: Array(repeating: 2, count: contexts),
      tlbCached: [[false], [false]], trackedHardwareBits: PTE.dirtyBit, initialPTEs: [.none])
    config.pinnedCPU = handler ? [nil, nil] : [nil]
    config.initialCPU = handler ? [0, nil] : [0]
    config.handlerCPU = handler ? [nil, 0] : [nil]
    config.lazyPerTask = perTask
    config.contextSwitchHooks = hooks
    config.interruptsNeverLazy = neverLazy
    config.usesIRQDisable = true
    return buildMachine(config, batchSlots: [3, 3])
  }

  @Test("the scheduler's switch: enabled only between a preemptible or finished task and another")
  func contextSwitchEnabling() {
    let (m, w) = machine()
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    // cpu1 is idle: idle to idle is no switch; the task runs on cpu0 already.
    #expect(!m.contextSwitch(s, cpu: 1, to: -1, currentFinished: false, nextFinished: false, &e))
    #expect(!m.contextSwitch(s, cpu: 1, to: 0, currentFinished: false, nextFinished: false, &e))
    // With interrupts off the task is not preemptible.
    m.setIRQsOff(s, cpu: 0, true)
    #expect(!m.contextSwitch(s, cpu: 0, to: -1, currentFinished: false, nextFinished: false, &e))
    #expect(m.contextSwitch(s, cpu: 0, to: -1, currentFinished: true, nextFinished: false, &e))
    m.setIRQsOff(s, cpu: 0, false)
    #expect(m.currentTask(s, cpu: 0) == nil)
    // A finished task is never switched in again.
    #expect(!m.contextSwitch(s, cpu: 1, to: 0, currentFinished: false, nextFinished: true, &e))
    #expect(m.contextSwitch(s, cpu: 1, to: 0, currentFinished: false, nextFinished: false, &e))
    #expect(m.currentTask(s, cpu: 1) == 0 && e.isEmpty)
  }

  @Test("the end of a program: a handler returns; a lazy task breaks lazy_balanced")
  func endProgram() {
    let (m, w) = machine(handler: true)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    #expect(m.enterInterrupt(s, cpu: 0, handler: 1))
    m.endProgram(s, Actor(program: ProgramIndex(1), cpu: CPUIndex(0)), &e)
    #expect(m.snapshot(s).cpus[0].inIRQ == nil && e.isEmpty)
    m.enterLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    m.endProgram(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    #expect(e == .lazyUnbalanced)
  }

  @Test("a task starts on its CPU; switched out and in elsewhere, it runs there")
  func migration() {
    let (m, w) = machine()
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    #expect(m.cpuOf(s, context: 0) == 0)
    m.switchOut(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    #expect(m.cpuOf(s, context: 0) == nil && !m.isRunning(s, context: 0))
    m.switchIn(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1)))
    #expect(m.cpuOf(s, context: 0) == 1)
  }

  @Test("lazy state per CPU, no hooks: the batch stays behind and the new CPU is not lazy")
  func perCPUStaysBehind() {
    let (m, w) = machine()
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    m.enterLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    m.setPTE(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), pte: 0, value: .rw(4), &e)
    m.switchOut(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    m.switchIn(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1)))
    #expect(
      m.isLazy(s, Actor(pinned: 0))
        && !m.isLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1))))
    #expect(m.hasQueuedWrite(s, program: 0, pte: 0))
    #expect(m.ptepGet(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1)), pte: 0, &e) == .none)
    #expect(e == .staleRead)  // its own write, left in cpu0's batch
  }

  @Test("Xen's hooks: flush and remember on the way out, re-enter on the way in")
  func xenHooks() {
    let (m, w) = machine(hooks: true)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    m.enterLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    m.setPTE(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), pte: 0, value: .rw(4), &e)
    m.switchOut(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    #expect(
      !m.isLazy(s, Actor(pinned: 0)) && m.batchCount(s, cpu: 0) == 0
        && m.snapshot(s).contexts[0].tif)
    m.switchIn(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1)))
    #expect(
      m.isLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1)))
        && !m.snapshot(s).contexts[0].tif)
    #expect(e.isEmpty)
  }

  @Test("per-task lazy state: the flag travels with the task, the switch flushes the CPU")
  func perTask() {
    let (m, w) = machine(perTask: true)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    var e = Events()
    m.enterLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    m.setPTE(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), pte: 0, value: .rw(4), &e)
    m.switchOut(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
    #expect(m.batchCount(s, cpu: 0) == 0)
    m.switchIn(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1)))
    #expect(m.isLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(1))))
  }

  @Test("an interrupt handler on a lazy CPU is lazy by accident, unless interrupts are never lazy")
  func handlerLaziness() {
    for neverLazy in [false, true] {
      let (m, w) = machine(handler: true, neverLazy: neverLazy)
      defer { w.deallocate() }
      let s = PackedState(w, wordCount: m.layout.wordCount)
      var e = Events()
      m.enterLazy(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)), &e)
      #expect(m.enterInterrupt(s, cpu: 0, handler: 1))
      #expect(!m.isRunning(s, context: 0) && m.isRunning(s, context: 1))
      #expect(!m.enterInterrupt(s, cpu: 0, handler: 1))  // once, and not nested
      #expect(m.isLazy(s, Actor(program: ProgramIndex(1), cpu: CPUIndex(0))) == !neverLazy)
      // a handler must not sleep
      #expect(m.isAtomic(s, Actor(program: ProgramIndex(1), cpu: CPUIndex(0))))
      m.exitInterrupt(s, cpu: 0)
      #expect(m.isRunning(s, context: 0))
    }
  }

  @Test("interrupts off: no interrupt enters, and the CPU is atomic")
  func irqsOff() {
    let (m, w) = machine(handler: true)
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    m.setIRQsOff(s, cpu: 0, true)
    #expect(!m.enterInterrupt(s, cpu: 0, handler: 1))
    #expect(
      m.isAtomic(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0)))
        && !m.isPreemptible(s, Actor(program: ProgramIndex(0), cpu: CPUIndex(0))))
    m.setIRQsOff(s, cpu: 0, false)
    #expect(m.enterInterrupt(s, cpu: 0, handler: 1))
  }
}
