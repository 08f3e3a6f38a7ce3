// The 2025 generic lazy MMU API with nesting ("mm: enable lazy_mmu sections to nest",
// Kevin Brodsky): lazy_mmu_mode_enable/disable/pause/resume over per-task counters
// enable_count and pause_count (here per program: a CPU program, a task or a handler).
// Only the outermost enable/disable reach arch_enter/arch_leave; a nested disable
// flushes; pause leaves the mode whatever the depth and resume re-enters it; calls between
// pause and resume have no effect. Also preempt_disable/enable and might_sleep().

extension Machine {
  /// With `interrupts_never_lazy`, every lazy_mmu_mode_* call in a handler does nothing
  /// ("mm: bail out of lazy_mmu_mode_* in interrupt context").
  @inlinable func inInterruptNeverLazy(_ task: Int) -> Bool {
    config.interruptsNeverLazy && config.isHandler(task)
  }

  @inlinable func bump(_ s: PackedState, _ f: Field, _ events: inout Events) -> Bool {
    let n = s[f]
    guard n < UInt64(MachineConfig.maxCount) else {
      events.insert(.counterOverflow)
      return false
    }
    s[f] = n + 1
    return true
  }

  /// `lazy_mmu_mode_enable()`.
  @inlinable public func lazyMMUEnable(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    if inInterruptNeverLazy(actor.program.rawValue) { return }  // no-ops in interrupt context
    guard s[layout.pauseCount[actor.program.rawValue]] == 0 else { return }
    guard bump(s, layout.enableCount[actor.program.rawValue], &events) else { return }
    if s[layout.enableCount[actor.program.rawValue]] == 1 { enterLazy(s, actor, &events) }
  }

  /// `lazy_mmu_mode_disable()`: the outermost leaves, a nested one flushes; afterwards the
  /// caller's earlier writes must have taken effect.
  @inlinable public func lazyMMUDisable(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    let cpu = actor.cpu.rawValue
    if inInterruptNeverLazy(actor.program.rawValue) { return }  // no-ops in interrupt context
    guard s[layout.pauseCount[actor.program.rawValue]] == 0 else { return }
    let f = layout.enableCount[actor.program.rawValue]
    guard s[f] > 0 else {
      events.raise(.lazyNesting) {
        .lazyNesting(program: actor.program.rawValue, rule: .disableUnderflow)
      }
      return
    }
    s[f] -= 1
    if s[f] == 0 {
      leaveLazy(s, actor, &events)
    } else {
      flushLazy(s, actor, &events)
    }
    if batchCount(s, cpu: cpu) != 0 {
      events.raise(.lazyNesting) {
        .lazyNesting(program: actor.program.rawValue, rule: .disableLeavesQueued)
      }
    }
  }

  /// `lazy_mmu_mode_pause()`: leaves the mode whatever the depth.
  @inlinable public func lazyMMUPause(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    if inInterruptNeverLazy(actor.program.rawValue) { return }  // no-ops in interrupt context
    guard bump(s, layout.pauseCount[actor.program.rawValue], &events) else { return }
    if s[layout.pauseCount[actor.program.rawValue]] == 1,
      s[layout.enableCount[actor.program.rawValue]] > 0
    {
      leaveLazy(s, actor, &events)
    }
  }

  /// `lazy_mmu_mode_resume()`: re-enters at the same depth.
  @inlinable public func lazyMMUResume(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    if inInterruptNeverLazy(actor.program.rawValue) { return }  // no-ops in interrupt context
    let f = layout.pauseCount[actor.program.rawValue]
    guard s[f] > 0 else {
      events.raise(.lazyNesting) {
        .lazyNesting(program: actor.program.rawValue, rule: .resumeUnderflow)
      }
      return
    }
    s[f] -= 1
    if s[f] == 0, s[layout.enableCount[actor.program.rawValue]] > 0 {
      enterLazy(s, actor, &events)
    }
  }

  /// `preempt_disable()` / `preempt_enable()`.
  @inlinable public func preemptDisable(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    _ = bump(s, layout.preemptCount[actor.program.rawValue], &events)
  }

  @inlinable public func preemptEnable(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    let f = layout.preemptCount[actor.program.rawValue]
    guard s[f] > 0 else {
      events.insert(.preemptUnderflow)
      return
    }
    s[f] -= 1
  }

  /// Whether the program is in atomic context: preemption disabled explicitly, by a held
  /// spinlock, or by a lazy section on an arch that disables preemption there; or it is an
  /// interrupt handler, or interrupts are off on its CPU.
  @inlinable public func isAtomic(_ s: some PackedStateReading, _ actor: Actor) -> Bool {
    let k = actor.program.rawValue
    return s[layout.preemptCount[k]] != 0 || locksHeld(s, by: k) != 0
      || (config.lazyDisablesPreemption && isLazy(s, actor))
      || irqsDisabled(s, actor)
  }

  /// `might_sleep()` (a GFP_KERNEL allocation, a mutex): sleeping in atomic context is a bug.
  @inlinable public func mightSleep(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    if isAtomic(s, actor) { events.insert(.sleepInAtomic) }
  }
}
