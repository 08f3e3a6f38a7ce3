// Tasks move between CPUs and interrupts break in: the context switch (with Xen's
// start/end_context_switch hooks, or the per-task lazy state of arm64 and the 2025 generic
// code, or neither: the sparc bug), local_irq_disable/enable, and interrupt entry/exit.

extension Machine {
  /// Whether the actor's task may be switched out now: preemption is enabled (no preempt
  /// count, no spinlock, interrupts on, not in a lazy section that disables preemption).
  @inlinable public func isPreemptible(_ s: some PackedStateReading, _ actor: Actor) -> Bool {
    !isAtomic(s, actor)
  }

  /// The task leaves `cpu` (preempted, or finished). With Xen's hooks
  /// (xen_start_context_switch): if the CPU is lazy, leave lazy mode, flushing the batch,
  /// and remember it in the task (TIF_LAZY_MMU_UPDATES). With per-task lazy state the
  /// arch's switch completes the CPU's pending work (arm64's dsb in __switch_to): the batch
  /// is flushed and the task keeps its flag. Otherwise nothing: the CPU stays lazy with the
  /// task's batch, and whatever runs next on it is lazy by accident.
  @inlinable public func switchOut(_ s: PackedState, _ actor: Actor, _ events: inout Events) {
    let (cpu, task) = (actor.cpu.rawValue, actor.program.rawValue)
    if config.contextSwitchHooks, !config.lazyPerTask, s[layout.lazy[cpu]] != 0 {
      flushBatch(s, cpu: cpu, &events)
      s[layout.lazy[cpu]] = 0
      s[layout.lazyLocks[cpu]] = 0
      s[layout.tif[task]] = 1
    } else if config.lazyPerTask {
      flushBatch(s, cpu: cpu, &events)
    }
    s[layout.current[cpu]] = 0
  }

  /// `task` starts running on `cpu`. With Xen's hooks (xen_end_context_switch): a task that
  /// was lazy when switched out re-enters lazy mode here.
  @inlinable public func switchIn(_ s: PackedState, _ actor: Actor) {
    let (cpu, task) = (actor.cpu.rawValue, actor.program.rawValue)
    s[layout.current[cpu]] = UInt64(task + 1)
    if config.contextSwitchHooks, s[layout.tif[task]] != 0 {
      s[layout.tif[task]] = 0
      s[layout.lazy[cpu]] = 1
      s[layout.lazyLocks[cpu]] = locksHeld(s, by: task)
    }
  }

  /// Interrupt `handler` breaks in on `cpu`: enabled once, when the CPU has interrupts on
  /// and is not already in an interrupt. Returns false when not enabled.
  @inlinable public func enterInterrupt(_ s: PackedState, cpu: Int, handler h: Int) -> Bool {
    guard s[layout.fired[h]] == 0, s[layout.irqsOff[cpu]] == 0, s[layout.inIRQ[cpu]] == 0,
      s[layout.inSwitch[cpu]] == 0
    else {
      return false
    }
    s[layout.fired[h]] = 1
    s[layout.inIRQ[cpu]] = UInt64(h + 1)
    return true
  }

  /// Cross-call handler `h` (a function `smp_call_function_many` queued on its CPU) starts:
  /// enabled while the call is pending and the CPU can take an interrupt (the IPI). The
  /// pending bit stays set until the function returns (`endCrossCall`).
  @inlinable public func enterCrossCall(_ s: PackedState, cpu: Int, handler h: Int) -> Bool {
    guard s[layout.fired[h]] != 0, s[layout.irqsOff[cpu]] == 0, s[layout.inIRQ[cpu]] == 0,
      s[layout.inSwitch[cpu]] == 0
    else { return false }
    s[layout.inIRQ[cpu]] = UInt64(h + 1)
    return true
  }

  /// Whether a call of cross-call handler `h` is queued or running (its csd is locked).
  @inlinable public func isCrossCallPending(_ s: some PackedStateReading, handler h: Int) -> Bool {
    s[layout.fired[h]] != 0
  }

  /// `smp_call_function_many` queues handler `h` on its CPU (csd_lock, llist_add, the IPI).
  @inlinable public func queueCrossCall(_ s: PackedState, handler h: Int) {
    s[layout.fired[h]] = 1
  }

  /// Cross-call handler `h` on `cpu` returned: its csd is unlocked (a waiting caller may go
  /// on) and the interrupted program resumes.
  @inlinable public func endCrossCall(_ s: PackedState, cpu: Int, handler h: Int) {
    s[layout.fired[h]] = 0
    s[layout.inIRQ[cpu]] = 0
  }

  /// The handler on `cpu` returned: the interrupted program resumes.
  @inlinable public func exitInterrupt(_ s: PackedState, cpu: Int) {
    s[layout.inIRQ[cpu]] = 0
  }

  /// `local_irq_disable()` / `local_irq_enable()` on the caller's CPU.
  @inlinable public func setIRQsOff(_ s: PackedState, cpu: Int, _ off: Bool) {
    s[layout.irqsOff[cpu]] = off ? 1 : 0
  }

  /// `irqs_disabled()`: interrupts are off on the program's CPU, or it is a handler or a
  /// context switch (both run with interrupts off).
  @inlinable public func irqsDisabled(_ s: some PackedStateReading, _ actor: Actor) -> Bool {
    let k = actor.program.rawValue
    return config.isHandler(k) || config.isSwitcher(k) || s[layout.irqsOff[actor.cpu.rawValue]] != 0
  }

  /// The task running on `cpu`, if any.
  @inlinable public func currentTask(_ s: some PackedStateReading, cpu c: Int) -> Int? {
    let cur = Int(s[layout.current[c]]) - 1
    return cur >= 0 ? cur : nil
  }

  /// Whether the scheduler may switch CPU `c` (one without a pinned program) to task `next`
  /// (-1: idle): the CPU is not in an interrupt nor in a switch; the task running there (if
  /// any) has finished or is preemptible and is not `next`; idle is not switched to idle;
  /// and `next` has not finished, runs nowhere and is no other switch's target.
  @inlinable public func switchEnabled(
    _ s: some PackedStateReading, cpu c: Int, to next: Int, currentFinished: Bool,
    nextFinished: Bool
  ) -> Bool {
    guard s[layout.inIRQ[c]] == 0 else { return false }
    if let cur = currentTask(s, cpu: c) {
      let running = Actor(program: ProgramIndex(cur), cpu: CPUIndex(c))
      guard next != cur, currentFinished || isPreemptible(s, running) else {
        return false
      }
    } else {
      guard next >= 0 else { return false }  // idle to idle
    }
    if next >= 0 {
      guard !nextFinished, cpuOf(s, context: next) == nil else { return false }
    }
    if hasSwitchers {
      for x in 0..<config.cpuCount {
        if x == c, s[layout.inSwitch[x]] != 0 { return false }
        if next >= 0, s[layout.switchNext[x]] == UInt64(next + 1) { return false }
      }
    }
    return true
  }

  /// The scheduler switches CPU `c` to task `next` (-1: idle) in one step. False when not
  /// enabled (`switchEnabled`).
  @inlinable public func contextSwitch(
    _ s: PackedState, cpu c: Int, to next: Int, currentFinished: Bool, nextFinished: Bool,
    _ events: inout Events
  ) -> Bool {
    guard
      switchEnabled(
        s, cpu: c, to: next, currentFinished: currentFinished, nextFinished: nextFinished)
    else { return false }
    _ = switchOutCurrent(s, cpu: c, &events)
    if next >= 0 { switchIn(s, Actor(program: ProgramIndex(next), cpu: CPUIndex(c))) }
    return true
  }

  /// The switch-out bookkeeping of the task running on `c`, if any; returns that task.
  @inlinable func switchOutCurrent(_ s: PackedState, cpu c: Int, _ events: inout Events)
    -> Int?
  {
    guard let cur = currentTask(s, cpu: c) else { return nil }
    switchOut(s, Actor(program: ProgramIndex(cur), cpu: CPUIndex(c)), &events)
    return cur
  }

  /// Whether CPU `c` is in the middle of a context switch whose hooks the spec defines.
  @inlinable public func isSwitching(_ s: some PackedStateReading, cpu c: Int) -> Bool {
    s[layout.inSwitch[c]] != 0
  }

  /// The task a switch in progress on `c` switches to (nil: idle).
  @inlinable public func switchTarget(_ s: some PackedStateReading, cpu c: Int) -> Int? {
    let next = Int(s[layout.switchNext[c]]) - 1
    return next >= 0 ? next : nil
  }

  /// The start of a context switch with spec-defined hooks (x86's context_switch(), before
  /// arch_start_context_switch(prev)): the built-in switch-out bookkeeping, but `current`
  /// stays `prev` until `endSwitch`; from now on c runs no program and takes no interrupt or
  /// IPI. False when not enabled.
  @inlinable public func beginSwitch(
    _ s: PackedState, cpu c: Int, to next: Int, currentFinished: Bool, nextFinished: Bool,
    _ events: inout Events
  ) -> Bool {
    guard
      switchEnabled(
        s, cpu: c, to: next, currentFinished: currentFinished, nextFinished: nextFinished)
    else { return false }
    if let cur = switchOutCurrent(s, cpu: c, &events) {
      s[layout.current[c]] = UInt64(cur + 1)  // `current` is written at the end
    }
    s[layout.inSwitch[c]] = 1
    s[layout.switchNext[c]] = UInt64(next + 1)
    return true
  }

  /// The end of a switch with hooks (`raw_cpu_write(current_task, next_p)`, then
  /// finish_task_switch() turns interrupts back on): `current := next` on c.
  @inlinable public func endSwitch(_ s: PackedState, cpu c: Int) {
    if let next = switchTarget(s, cpu: c) {
      switchIn(s, Actor(program: ProgramIndex(next), cpu: CPUIndex(c)))
    } else {
      s[layout.current[c]] = 0
    }
    s[layout.inSwitch[c]] = 0
    s[layout.switchNext[c]] = 0
  }

  /// Program `task` on `cpu` has run its last statement: a handler returns (the
  /// interrupted program resumes); any other program must have left lazy mode
  /// (`lazy_balanced`).
  @inlinable public func endProgram(_ s: PackedState, _ actor: Actor, _ events: inout Events) {
    let program = actor.program.rawValue
    if config.isHandler(program) {
      exitInterrupt(s, cpu: actor.cpu.rawValue)
    } else if isLazy(s, actor) {
      events.raise(.lazyUnbalanced) { .lazyUnbalanced(program: program, rule: .endsLazy) }
    }
  }
}
